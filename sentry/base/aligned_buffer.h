// A heap buffer that starts on a page boundary, for bounce buffers between
// host files and guest memory.
//
// Why: the kernel's copies to and from user memory (rep movsb) are far
// slower when the user address is not aligned. malloc's large blocks start
// 16 bytes into an mmap'd region; on the development VM (AMD EPYC) a 16 KiB
// pread into such a buffer took 7.9 us against 2.4 us into an aligned one.

#ifndef SENTRY_BASE_ALIGNED_BUFFER_H_
#define SENTRY_BASE_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace sentry {

class PageAlignedBuffer {
 public:
  static constexpr size_t kAlign = 4096;

  explicit PageAlignedBuffer(size_t size) : size_(size) {
    size_t rounded = (size + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(static_cast<char*>(p));
  }

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  size_t size_;
  std::unique_ptr<char, Free> data_;
};

}  // namespace sentry

#endif  // SENTRY_BASE_ALIGNED_BUFFER_H_
