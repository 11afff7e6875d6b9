# Every dependency comes from Debian's archive (scripts/setup.sh installs them) or, on the GPU
# machine, from the PyTorch wheel's LibTorch. Header-only libraries are found through their CMake
# configs where Debian ships one, otherwise as plain include paths.
find_package(Torch REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 CONFIG QUIET)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tomlplusplus CONFIG QUIET)
find_package(FastFloat CONFIG QUIET)

# CLI11, toml++ and fast_float are header-only; Debian's configs for them are sometimes absent on
# the GPU machine (we carry the headers there), so fall back to an include directory.
foreach(hdr CLI/CLI.hpp toml++/toml.h fast_float/fast_float.h)
  find_path(_inc NAMES ${hdr} HINTS ${SPIKECAST_EXTRA_INCLUDE} REQUIRED)
  list(APPEND SPIKECAST_HEADER_ONLY_INCLUDES ${_inc})
  unset(_inc CACHE)
endforeach()
list(REMOVE_DUPLICATES SPIKECAST_HEADER_ONLY_INCLUDES)
add_library(spikecast_header_only INTERFACE)
target_include_directories(spikecast_header_only SYSTEM INTERFACE ${SPIKECAST_HEADER_ONLY_INCLUDES})

# LibTorch's imported target carries its include dirs and link flags.
add_library(spikecast_torch INTERFACE)
target_link_libraries(spikecast_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(spikecast_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
if(TORCH_CXX_FLAGS)
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(spikecast_torch INTERFACE ${_torch_flags})
endif()

# A LibTorch built with CUDA (the GPU machine's) lists its CUDA libraries here; CUDA-only code
# (graph capture in tensor/graphed_call.cc) compiles in only then.
if(TORCH_CUDA_LIBRARIES)
  target_compile_definitions(spikecast_torch INTERFACE SPIKECAST_WITH_CUDA=1)
  # Our own CUDA kernels (models/recurrent_cuda.cu: thread-block clusters, sm_90) need nvcc; without
  # it cuDNN runs every batch.
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(SPIKECAST_CUDA_KERNELS ON)
    target_compile_definitions(spikecast_torch INTERFACE SPIKECAST_WITH_CUDA_KERNELS=1)
  else()
    message(STATUS "spikecast: no CUDA compiler found; the CUDA layer kernels are left out")
  endif()
endif()
