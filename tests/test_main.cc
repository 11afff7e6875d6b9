// The suites' main: the host allocator settings of the spikecast binary (core/host_allocator.h), so
// the tests run the code the way users run it.
#include <gtest/gtest.h>

#include "core/host_allocator.h"

int main(int argc, char** argv) {
  spikecast::tune_host_allocator();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
