// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it over
// the target, fsync the directory. A reader sees the old contents or the new, never a mix; a crash
// at any point leaves at most a stray "<name>.tmp.*" file, which readers ignore.
#pragma once

#include <string>

namespace spikecast {

// Replaces `path` with `contents` atomically (POSIX rename). Throws Error naming the path.
void write_file_atomic(const std::string& path, const std::string& contents);

// Appends one line (a '\n' is added) and fsyncs. Throws Error naming the path.
void append_line_durable(const std::string& path, const std::string& line);

// fsyncs a directory so that a rename or a new entry inside it survives a crash.
void fsync_directory(const std::string& dir);

// The whole file; throws Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

// The suffix of temporary files made by write_file_atomic ("<name>.tmp.<pid>.<n>").
inline constexpr const char* kTempInfix = ".tmp.";

}  // namespace spikecast
