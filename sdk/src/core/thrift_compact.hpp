// A bounds-checked reader for the Thrift compact protocol, just enough to decode Parquet
// metadata (footer, page headers) from untrusted files. Every read is checked against the
// buffer, nesting depth and per-struct field counts are capped, and every problem is a
// nanochat::Error (the caller adds the file name).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nanochat::thrift {

// Wire types of the compact protocol (booleans carry their value in the type nibble).
enum class CType : std::uint8_t {
  Stop = 0,
  BoolTrue = 1,
  BoolFalse = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Double = 7,
  Binary = 8,
  List = 9,
  Set = 10,
  Map = 11,
  Struct = 12,
  Uuid = 13,
};

class CompactReader {
 public:
  // Deep enough for any Parquet struct (FileMetaData -> RowGroup -> ColumnChunk ->
  // ColumnMetaData -> Statistics is 5), small enough that hostile nesting cannot blow the stack.
  static constexpr int kMaxDepth = 32;
  static constexpr int kMaxFieldsPerStruct = 4096;

  CompactReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::size_t position() const { return pos_; }

  // Struct framing: begin_struct(), then next_field() until it returns false, then end_struct().
  void begin_struct();
  bool next_field(std::int16_t& id, CType& type);
  void end_struct();

  // Field values; `type` is the field's wire type, checked against what the caller expects.
  bool read_bool(CType type);
  std::int32_t read_i32(CType type);
  std::int64_t read_i64(CType type);
  std::string read_string(CType type);
  // List header: element count (already checked against the bytes left) and element type.
  std::size_t read_list_header(CType type, CType& element);
  // Skips a field value of any type, honouring the depth cap.
  void skip(CType type);
  // Skips one list element (differs from skip() for bools, which are whole bytes in lists).
  void skip_element(CType type);

 private:
  std::uint8_t read_byte();
  std::uint64_t read_varint();
  std::int64_t read_zigzag();
  void skip_bytes(std::size_t n);
  void enter();
  void leave() { --depth_; }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  // One (last field id, fields read) pair per open struct: ids are delta-coded per struct.
  std::vector<std::pair<std::int16_t, int>> structs_;
};

// Decodes a struct, calling on_field(id, type) for each field; on_field must consume the value
// (a read_* call or skip(type)).
template <class OnField>
void read_struct(CompactReader& r, OnField&& on_field) {
  r.begin_struct();
  std::int16_t id = 0;
  CType type = CType::Stop;
  while (r.next_field(id, type)) on_field(id, type);
  r.end_struct();
}

// Decodes a list field, calling on_element(element_type) once per element; on_element must
// consume it (a read_* call or skip_element(element_type)).
template <class OnElement>
void read_list(CompactReader& r, CType type, OnElement&& on_element) {
  CType element = CType::Stop;
  const std::size_t n = r.read_list_header(type, element);
  for (std::size_t i = 0; i < n; ++i) on_element(element);
}

}  // namespace nanochat::thrift
