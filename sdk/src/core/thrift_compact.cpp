// Thrift compact protocol decoding with every length, count and nesting level checked, so a
// corrupt Parquet footer or page header becomes an Error instead of a crash or a huge allocation.
#include "thrift_compact.hpp"

#include <limits>

#include "nanochat/error.hpp"

namespace nanochat::thrift {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("thrift: " + what); }

bool is_bool(CType t) { return t == CType::BoolTrue || t == CType::BoolFalse; }

CType to_ctype(unsigned nibble) {
  if (nibble > static_cast<unsigned>(CType::Uuid)) fail("unknown type " + std::to_string(nibble));
  return static_cast<CType>(nibble);
}

void expect(CType got, CType want, const char* what) {
  if (got != want) fail(std::string(what) + " field has wire type " + std::to_string(static_cast<int>(got)));
}

}  // namespace

std::uint8_t CompactReader::read_byte() {
  if (pos_ >= size_) fail("unexpected end of data");
  return data_[pos_++];
}

std::uint64_t CompactReader::read_varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const std::uint8_t b = read_byte();
    value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value;
  }
  fail("varint longer than 10 bytes");
}

std::int64_t CompactReader::read_zigzag() {
  const std::uint64_t u = read_varint();
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

void CompactReader::skip_bytes(std::size_t n) {
  if (n > size_ - pos_) fail("length " + std::to_string(n) + " runs past the end of data");
  pos_ += n;
}

void CompactReader::enter() {
  if (++depth_ > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
}

void CompactReader::begin_struct() {
  enter();
  structs_.emplace_back(0, 0);
}

void CompactReader::end_struct() {
  structs_.pop_back();
  leave();
}

bool CompactReader::next_field(std::int16_t& id, CType& type) {
  const std::uint8_t header = read_byte();
  if (header == 0) return false;
  auto& [last_id, count] = structs_.back();
  if (++count > kMaxFieldsPerStruct) fail("struct with more than " + std::to_string(kMaxFieldsPerStruct) + " fields");
  type = to_ctype(header & 0x0f);
  if (type == CType::Stop) fail("field with stop type");
  const unsigned delta = header >> 4;
  const std::int64_t next = delta != 0 ? last_id + static_cast<std::int64_t>(delta) : read_zigzag();
  if (next < std::numeric_limits<std::int16_t>::min() || next > std::numeric_limits<std::int16_t>::max()) {
    fail("field id out of range");
  }
  last_id = static_cast<std::int16_t>(next);
  id = last_id;
  return true;
}

bool CompactReader::read_bool(CType type) {
  if (!is_bool(type)) fail("bool field has wire type " + std::to_string(static_cast<int>(type)));
  return type == CType::BoolTrue;
}

std::int32_t CompactReader::read_i32(CType type) {
  if (type != CType::I16) expect(type, CType::I32, "i32");
  const std::int64_t v = read_zigzag();
  if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
    fail("i32 value out of range");
  }
  return static_cast<std::int32_t>(v);
}

std::int64_t CompactReader::read_i64(CType type) {
  if (type != CType::I32 && type != CType::I16) expect(type, CType::I64, "i64");
  return read_zigzag();
}

std::string CompactReader::read_string(CType type) {
  expect(type, CType::Binary, "string");
  const std::uint64_t n = read_varint();
  if (n > size_ - pos_) fail("string length " + std::to_string(n) + " runs past the end of data");
  std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return s;
}

std::size_t CompactReader::read_list_header(CType type, CType& element) {
  if (type != CType::Set) expect(type, CType::List, "list");
  const std::uint8_t header = read_byte();
  element = to_ctype(header & 0x0f);
  if (element == CType::Stop) fail("list of stop type");
  std::uint64_t n = header >> 4;
  if (n == 15) n = read_varint();
  // Every element takes at least one byte, so a larger count is a lie we must not allocate for.
  if (n > size_ - pos_) fail("list of " + std::to_string(n) + " elements runs past the end of data");
  return static_cast<std::size_t>(n);
}

void CompactReader::skip_element(CType type) {
  // Inside lists and maps a bool is a whole byte, not part of a field header.
  if (is_bool(type)) {
    skip_bytes(1);
  } else {
    skip(type);
  }
}

void CompactReader::skip(CType type) {
  switch (type) {
    case CType::BoolTrue:
    case CType::BoolFalse:
      return;
    case CType::Byte:
      skip_bytes(1);
      return;
    case CType::I16:
    case CType::I32:
    case CType::I64:
      read_varint();
      return;
    case CType::Double:
      skip_bytes(8);
      return;
    case CType::Uuid:
      skip_bytes(16);
      return;
    case CType::Binary: {
      const std::uint64_t n = read_varint();
      if (n > size_ - pos_) fail("binary length runs past the end of data");
      pos_ += static_cast<std::size_t>(n);
      return;
    }
    case CType::List:
    case CType::Set: {
      enter();
      CType element = CType::Stop;
      const std::size_t n = read_list_header(type, element);
      for (std::size_t i = 0; i < n; ++i) skip_element(element);
      leave();
      return;
    }
    case CType::Map: {
      enter();
      const std::uint64_t n = read_varint();
      if (n > 0) {
        const std::uint8_t kv = read_byte();
        const CType key = to_ctype(kv >> 4);
        const CType value = to_ctype(kv & 0x0f);
        if (key == CType::Stop || value == CType::Stop) fail("map of stop type");
        if (n > size_ - pos_) fail("map of " + std::to_string(n) + " entries runs past the end of data");
        for (std::uint64_t i = 0; i < n; ++i) {
          skip_element(key);
          skip_element(value);
        }
      }
      leave();
      return;
    }
    case CType::Struct: {
      std::int16_t id = 0;
      CType field = CType::Stop;
      begin_struct();
      while (next_field(id, field)) skip(field);
      end_struct();
      return;
    }
    case CType::Stop:
      break;
  }
  fail("cannot skip a value of stop type");
}

}  // namespace nanochat::thrift
