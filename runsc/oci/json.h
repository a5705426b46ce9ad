// A small JSON reader and writer for the OCI runtime's files: config.json
// (written by whoever made the bundle, so hostile), state files and the
// JSON that `state`, `list`, `ps` and `events` print.
//
// The reader keeps numbers as their text so that 64-bit values (rlimits
// of 2^64-1, say) convert exactly, and bounds nesting and size: a hostile
// document gets an error, never a deep recursion or an unbounded
// allocation.

#ifndef RUNSC_OCI_JSON_H_
#define RUNSC_OCI_JSON_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace runsc::oci {

class Json final {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  static Json Null() { return Json(); }
  static Json Bool(bool b);
  static Json Number(std::string text);  // text as JSON spells it
  static Json Int(int64_t v);
  static Json Uint(uint64_t v);
  static Json String(std::string s);
  static Json Array();
  static Json Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_bool() const { return type_ == Type::kBool; }

  bool bool_value() const { return bool_; }
  // The string (kString) or the number's text (kNumber).
  const std::string& text() const { return text_; }
  // The number as an integer, if it is one exactly and in range.
  std::optional<int64_t> AsInt64() const;
  std::optional<uint64_t> AsUint64() const;

  // Arrays.
  const std::vector<Json>& items() const { return items_; }
  void Append(Json v) { items_.push_back(std::move(v)); }

  // Objects, in the order their members came (the last of duplicate
  // names wins on lookup, as in most readers).
  const std::vector<std::pair<std::string, Json>>& members() const {
    return members_;
  }
  const Json* Find(std::string_view name) const;
  // Replaces the member `name` or adds it.
  void Set(std::string name, Json v);
  // Adds a member without looking for an earlier one of the same name.
  void AppendMember(std::string name, Json v) {
    members_.emplace_back(std::move(name), std::move(v));
  }

  // Compact JSON text.
  std::string Dump() const;
  // Indented with `indent` spaces per level.
  std::string Pretty(int indent = 2) const;

 private:
  void DumpTo(std::string& out, int indent, int depth) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

struct JsonLimits {
  size_t max_bytes = 4 << 20;  // config.json is rarely over 100 KiB
  int max_depth = 64;
};

// Parses one JSON document (RFC 8259; whitespace around it allowed).
// Errors say what is wrong and at which byte offset.
absl::StatusOr<Json> ParseJson(std::string_view text, JsonLimits limits = {});

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace runsc::oci

#endif  // RUNSC_OCI_JSON_H_
