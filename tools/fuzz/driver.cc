// Deterministic fuzz driver: runs every seed, then FUZZ_ITERATIONS (default
// 20000) mutated inputs from a fixed random seed, so a failure reproduces.
// A crash, a sanitizer report or an abort fails the test.

#include <cstdio>
#include <cstdlib>
#include <random>

#include "tools/fuzz/fuzz.h"

namespace {

std::string Mutate(std::string s, const std::vector<std::string>& seeds,
                   std::mt19937_64& rng) {
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(rng() % n);
  };
  static const uint8_t kInteresting[] = {0,    1,    0x7f, 0x80,
                                         0xff, 0xfe, 0x40, 0x10};
  int rounds = 1 + static_cast<int>(pick(8));
  for (int r = 0; r < rounds; r++) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // set an interesting byte
        if (!s.empty())
          s[pick(s.size())] = static_cast<char>(kInteresting[pick(8)]);
        break;
      case 2:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 3:  // insert random bytes
        s.insert(pick(s.size() + 1),
                 std::string(1 + pick(16), static_cast<char>(rng())));
        break;
      case 4:  // erase a range
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, pick(s.size() - at + 1));
        }
        break;
      case 5:  // splice another seed in
        if (!seeds.empty()) {
          const std::string& o = seeds[pick(seeds.size())];
          s.insert(pick(s.size() + 1), o.substr(pick(o.size() + 1)));
        }
        break;
      case 6:  // overwrite 4 bytes with an extreme 32-bit value
        if (s.size() >= 4) {
          uint32_t v = pick(2) ? 0xffffffffu : 0x80000000u >> pick(32);
          size_t at = pick(s.size() - 3);
          for (int i = 0; i < 4; i++)
            s[at + i] = static_cast<char>(v >> (8 * i));
        }
        break;
    }
  }
  return s;
}

}  // namespace

int main() {
  std::vector<std::string> seeds = FuzzSeeds();
  long iterations = 20000;
  if (const char* env = getenv("FUZZ_ITERATIONS"))
    iterations = strtol(env, nullptr, 10);
  for (const std::string& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()),
                           s.size());
  }
  std::mt19937_64 rng(0x5eed);
  for (long i = 0; i < iterations; i++) {
    std::string input =
        Mutate(seeds.empty() ? std::string() : seeds[rng() % seeds.size()],
               seeds, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
  }
  printf("fuzz driver: %zu seeds and %ld mutated inputs ran cleanly\n",
         seeds.size(), iterations);
  return 0;
}
