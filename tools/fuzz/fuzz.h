// The interface of a fuzz target in this project.
//
// A target defines LLVMFuzzerTestOneInput (the libFuzzer entry point) and
// FuzzSeeds(), valid inputs for the deterministic driver to mutate.

#ifndef TOOLS_FUZZ_FUZZ_H_
#define TOOLS_FUZZ_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

std::vector<std::string> FuzzSeeds();

#endif  // TOOLS_FUZZ_FUZZ_H_
