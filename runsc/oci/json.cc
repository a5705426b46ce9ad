#include "runsc/oci/json.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace runsc::oci {

Json Json::Bool(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}

Json Json::Number(std::string text) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::move(text);
  return j;
}

Json Json::Int(int64_t v) { return Number(absl::StrCat(v)); }
Json Json::Uint(uint64_t v) { return Number(absl::StrCat(v)); }

Json Json::String(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.text_ = std::move(s);
  return j;
}

Json Json::Array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

Json Json::Object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

namespace {

// True if `t` is an integer in JSON's grammar (no fraction, no exponent).
bool IsIntegerText(const std::string& t) {
  size_t i = t[0] == '-' ? 1 : 0;
  if (i >= t.size()) return false;
  for (; i < t.size(); i++) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> Json::AsInt64() const {
  if (type_ != Type::kNumber || !IsIntegerText(text_)) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(text_.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<uint64_t> Json::AsUint64() const {
  if (type_ != Type::kNumber || !IsIntegerText(text_) || text_[0] == '-')
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(text_.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

const Json* Json::Find(std::string_view name) const {
  const Json* found = nullptr;
  for (const auto& [k, v] : members_) {
    if (k == name) found = &v;
  }
  return found;
}

void Json::Set(std::string name, Json v) {
  for (auto& [k, old] : members_) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  members_.emplace_back(std::move(name), std::move(v));
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

void Json::DumpTo(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (type_) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      return;
    case Type::kNumber:
      out += text_;
      return;
    case Type::kString:
      out += JsonQuote(text_);
      return;
    case Type::kArray:
      out += '[';
      for (size_t i = 0; i < items_.size(); i++) {
        if (i > 0) out += ',';
        newline(depth + 1);
        items_[i].DumpTo(out, indent, depth + 1);
      }
      if (!items_.empty()) newline(depth);
      out += ']';
      return;
    case Type::kObject:
      out += '{';
      for (size_t i = 0; i < members_.size(); i++) {
        if (i > 0) out += ',';
        newline(depth + 1);
        out += JsonQuote(members_[i].first);
        out += indent > 0 ? ": " : ":";
        members_[i].second.DumpTo(out, indent, depth + 1);
      }
      if (!members_.empty()) newline(depth);
      out += '}';
      return;
  }
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(out, 0, 0);
  return out;
}

std::string Json::Pretty(int indent) const {
  std::string out;
  DumpTo(out, indent, 0);
  return out;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, JsonLimits limits)
      : s_(text), limits_(limits) {}

  absl::StatusOr<Json> Document() {
    if (s_.size() > limits_.max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "JSON of ", s_.size(), " bytes, more than ", limits_.max_bytes));
    }
    Json v;
    if (!Value(v, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      what_ = "text after the JSON value";
      return Error();
    }
    return v;
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", pos_, ": ", what_));
  }

  bool Fail(const char* what) {
    what_ = what;
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      pos_++;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool Value(Json& out, int depth) {
    if (depth > limits_.max_depth) return Fail("nested too deeply");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end");
    char c = s_[pos_];
    switch (c) {
      case '{':
        return ObjectValue(out, depth);
      case '[':
        return ArrayValue(out, depth);
      case '"': {
        std::string str;
        if (!StringValue(str)) return false;
        out = Json::String(std::move(str));
        return true;
      }
      case 't':
        out = Json::Bool(true);
        return Literal("true");
      case 'f':
        out = Json::Bool(false);
        return Literal("false");
      case 'n':
        out = Json::Null();
        return Literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return NumberValue(out);
        return Fail("unexpected character");
    }
  }

  bool Digits() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') pos_++;
    return pos_ > start;
  }

  bool NumberValue(Json& out) {
    size_t start = pos_;
    if (s_[pos_] == '-') pos_++;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      pos_++;
    } else if (!Digits()) {
      return Fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      pos_++;
      if (!Digits()) return Fail("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      pos_++;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) pos_++;
      if (!Digits()) return Fail("bad number");
    }
    out = Json::Number(std::string(s_.substr(start, pos_ - start)));
    return true;
  }

  bool Hex4(uint32_t& v) {
    if (pos_ + 4 > s_.size()) return Fail("bad \\u escape");
    v = 0;
    for (int i = 0; i < 4; i++) {
      char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return Fail("bad \\u escape");
      }
    }
    return true;
  }

  static void PutUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool StringValue(std::string& out) {
    pos_++;  // the opening quote
    for (;;) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return Fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t low;
            if (s_.substr(pos_, 2) != "\\u") return Fail("lone surrogate");
            pos_ += 2;
            if (!Hex4(low)) return false;
            if (low < 0xdc00 || low >= 0xe000) return Fail("lone surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return Fail("lone surrogate");
          }
          PutUtf8(out, cp);
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
  }

  bool ArrayValue(Json& out, int depth) {
    pos_++;
    out = Json::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      pos_++;
      return true;
    }
    for (;;) {
      Json item;
      if (!Value(item, depth + 1)) return false;
      out.Append(std::move(item));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') return Fail("expected , or ] in an array");
    }
  }

  bool ObjectValue(Json& out, int depth) {
    pos_++;
    out = Json::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      pos_++;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"')
        return Fail("expected a member name");
      std::string name;
      if (!StringValue(name)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected :");
      pos_++;
      Json v;
      if (!Value(v, depth + 1)) return false;
      // Appended, not Set: Set is quadratic in the member count, and a
      // hostile document may have many. Find takes the last duplicate.
      out.AppendMember(std::move(name), std::move(v));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') return Fail("expected , or } in an object");
    }
  }

  std::string_view s_;
  JsonLimits limits_;
  size_t pos_ = 0;
  const char* what_ = "";
};

}  // namespace

absl::StatusOr<Json> ParseJson(std::string_view text, JsonLimits limits) {
  return Parser(text, limits).Document();
}

}  // namespace runsc::oci
