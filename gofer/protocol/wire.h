// The gofer wire format: little-endian fixed-width integers, length-prefixed
// strings and vectors, every read bounds-checked.
//
// Messages declare their fields once, in a Visit() member, and the Writer and
// Reader below walk that list, so encoding and decoding cannot drift apart:
//
//   struct WalkRequest {
//     uint64_t dir = 0;
//     std::vector<std::string> names;
//     template <typename V> void Visit(V& v) { v(dir); v(names); }
//   };

#ifndef GOFER_PROTOCOL_WIRE_H_
#define GOFER_PROTOCOL_WIRE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace gofer::proto {

// Limits on what a peer may claim. Anything larger is a malformed message.
inline constexpr uint32_t kMaxString = 4096;  // PATH_MAX, with its NUL
inline constexpr uint32_t kMaxVector = 4096;

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}

  void operator()(uint8_t v) { Put(&v, 1); }
  void operator()(uint16_t v) { PutLE(v); }
  void operator()(uint32_t v) { PutLE(v); }
  void operator()(uint64_t v) { PutLE(v); }
  void operator()(int32_t v) { PutLE(static_cast<uint32_t>(v)); }
  void operator()(int64_t v) { PutLE(static_cast<uint64_t>(v)); }
  void operator()(const std::string& s) {
    PutLE(static_cast<uint32_t>(s.size()));
    Put(s.data(), s.size());
  }
  template <typename T>
  void operator()(const std::vector<T>& v) {
    PutLE(static_cast<uint32_t>(v.size()));
    for (const T& e : v) (*this)(e);
  }
  template <typename T, typename = decltype(&T::template Visit<Writer>)>
  void operator()(const T& msg) {
    const_cast<T&>(msg).Visit(*this);
  }

 private:
  template <typename T>
  void PutLE(T v) {
    uint8_t b[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); i++)
      b[i] = static_cast<uint8_t>(v >> (8 * i));
    Put(b, sizeof(T));
  }
  void Put(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }

  std::vector<uint8_t>* out_;
};

// Reads fields until the input runs out or a limit is broken; from then on
// ok() is false and every field reads as zero/empty.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), left_(size) {}

  bool ok() const { return ok_; }
  // True when every byte was consumed without error: trailing garbage is as
  // malformed as a short message.
  bool Done() const { return ok_ && left_ == 0; }

  void operator()(uint8_t& v) { GetLE(v); }
  void operator()(uint16_t& v) { GetLE(v); }
  void operator()(uint32_t& v) { GetLE(v); }
  void operator()(uint64_t& v) { GetLE(v); }
  void operator()(int32_t& v) {
    uint32_t u;
    GetLE(u);
    v = static_cast<int32_t>(u);
  }
  void operator()(int64_t& v) {
    uint64_t u;
    GetLE(u);
    v = static_cast<int64_t>(u);
  }
  void operator()(std::string& s) {
    uint32_t n = 0;
    GetLE(n);
    if (!ok_ || n > kMaxString || n > left_) return Fail();
    s.assign(reinterpret_cast<const char*>(p_), n);
    Skip(n);
  }
  template <typename T>
  void operator()(std::vector<T>& v) {
    uint32_t n = 0;
    GetLE(n);
    // Every element takes at least one byte, so a count beyond the bytes
    // left is a lie; checking it first bounds the allocation.
    if (!ok_ || n > kMaxVector || n > left_) return Fail();
    v.clear();
    v.resize(n);
    for (T& e : v) {
      (*this)(e);
      if (!ok_) return;
    }
  }
  template <typename T, typename = decltype(&T::template Visit<Reader>)>
  void operator()(T& msg) {
    msg.Visit(*this);
  }

 private:
  template <typename T>
  void GetLE(T& v) {
    v = 0;
    if (!ok_ || left_ < sizeof(T)) return Fail();
    for (size_t i = 0; i < sizeof(T); i++)
      v |= static_cast<T>(static_cast<T>(p_[i]) << (8 * i));
    Skip(sizeof(T));
  }
  void Skip(size_t n) {
    p_ += n;
    left_ -= n;
  }
  void Fail() {
    ok_ = false;
    left_ = 0;
  }

  const uint8_t* p_;
  size_t left_;
  bool ok_ = true;
};

}  // namespace gofer::proto

#endif  // GOFER_PROTOCOL_WIRE_H_
