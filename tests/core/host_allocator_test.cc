// The host allocator settings (core/host_allocator.h): once applied (the suites' main applies them),
// large blocks come from the heap and stay there after free instead of being mapped and unmapped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/host_allocator.h"

namespace spikecast {
namespace {

#if defined(__GLIBC__)
TEST(HostAllocatorTest, LargeBlocksComeFromTheHeapAndStayAfterFree) {
  ASSERT_TRUE(tune_host_allocator());
  EXPECT_EQ(host_allocator_description(), "retained (glibc, no per-block mmap)");
  const size_t bytes = size_t{96} << 20;  // 96 MiB: above glibc's largest dynamic mmap threshold (32 MiB)
  const struct mallinfo2 before = mallinfo2();
  char* block = static_cast<char*>(std::malloc(bytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, bytes);
  const struct mallinfo2 during = mallinfo2();
  EXPECT_EQ(during.hblkhd, before.hblkhd) << "the block was mapped on its own";
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  // Without the settings glibc would trim the heap's free top back (default: above 128 KiB).
  EXPECT_GE(after.arena, before.arena + bytes) << "the heap gave the block back to the system";
  EXPECT_GE(after.fordblks, bytes);
}

TEST(HostAllocatorTest, ApplyingTwiceIsHarmless) {
  EXPECT_TRUE(tune_host_allocator());
  EXPECT_TRUE(tune_host_allocator());
}
#endif

}  // namespace
}  // namespace spikecast
