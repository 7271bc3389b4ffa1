// Safetensors round trips, the on-disk header layout, and clear errors (never a crash) on
// truncated or corrupt files.
#include "nanochat/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using nanochat::DType;
using nanochat::Error;
using nanochat::SafetensorsReader;
using nanochat::SafetensorsWriter;

namespace {

// GoogleTest without gmock (the test targets link gtest only).
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

uint64_t read_u64_le(const std::string& bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

// Bytes that differ per position, so a misplaced tensor shows up as a mismatch.
std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return bytes;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "safetensors_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file with a hand-written header: `header_length` overrides the length field.
  fs::path raw_file(const std::string& header, const std::string& data,
                    uint64_t header_length = UINT64_MAX) {
    fs::path path = dir_ / "raw.safetensors";
    uint64_t length = header_length == UINT64_MAX ? header.size() : header_length;
    write_bytes(path, u64_le(length) + header + data);
    return path;
  }

  // Expects opening `path` to throw an Error that names the file and contains `problem`.
  static void expect_error(const fs::path& path, const std::string& problem) {
    try {
      SafetensorsReader reader(path);
      ADD_FAILURE() << "opened without error; expected: " << problem;
    } catch (const Error& e) {
      EXPECT_TRUE(Contains(e.what(), path.filename().string()));
      EXPECT_TRUE(Contains(e.what(), problem));
    }
  }

  void expect_header_error(const std::string& header, const std::string& problem,
                           const std::string& data = std::string(16, '\0')) {
    SCOPED_TRACE(header);
    expect_error(raw_file(header, data), problem);
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeScalarAndEmptyTensors) {
  const std::vector<DType> dtypes = {DType::BF16, DType::F16, DType::F32, DType::F64,
                                     DType::I64,  DType::I32, DType::I16, DType::I8,
                                     DType::U8,   DType::BOOL};
  struct Expected {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Expected> expected;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    size_t size = 2 * 3 * nanochat::dtype_size(dtypes[i]);
    expected.push_back({std::string("t_") + nanochat::dtype_name(dtypes[i]), dtypes[i], {2, 3},
                        pattern(size, static_cast<uint8_t>(i))});
  }
  expected.push_back({"scalar", DType::F32, {}, pattern(4, 50)});
  expected.push_back({"empty", DType::F64, {0, 4}, {}});
  expected.push_back({"empty_last", DType::I32, {3, 0}, {}});
  expected.push_back({"after_empty", DType::U8, {5}, pattern(5, 60)});

  SafetensorsWriter writer;
  for (const auto& e : expected) writer.add(e.name, e.dtype, e.shape, e.bytes.data(), e.bytes.size());
  fs::path path = dir_ / "all.safetensors";
  writer.write(path);

  SafetensorsReader reader(path);
  EXPECT_EQ(reader.path(), path);
  ASSERT_EQ(reader.tensors().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& e = expected[i];
    SCOPED_TRACE(e.name);
    const auto& info = reader.tensors()[i];
    EXPECT_EQ(info.name, e.name);  // insertion order is file order
    ASSERT_TRUE(reader.contains(e.name));
    EXPECT_EQ(&reader.info(e.name), &info);
    EXPECT_EQ(info.dtype, e.dtype);
    EXPECT_EQ(info.shape, e.shape);
    ASSERT_EQ(info.nbytes, e.bytes.size());
    const uint8_t* data = reader.data(info);
    EXPECT_EQ(std::vector<uint8_t>(data, data + info.nbytes), e.bytes);
  }
  EXPECT_TRUE(reader.metadata().empty());
}

TEST_F(SafetensorsTest, RoundTripsMetadata) {
  SafetensorsWriter writer;
  float value = 1.5f;
  writer.add("w", DType::F32, {1}, &value, sizeof(value));
  writer.set_metadata("format", "pt");
  writer.set_metadata("step", "1200");
  writer.set_metadata("note", "\"quoted\", ünïcödé, and a\nnewline");
  writer.set_metadata("empty", "");
  writer.set_metadata("step", "1300");  // the last value wins
  fs::path path = dir_ / "meta.safetensors";
  writer.write(path);

  SafetensorsReader reader(path);
  std::map<std::string, std::string> expected = {{"format", "pt"},
                                                 {"step", "1300"},
                                                 {"note", "\"quoted\", ünïcödé, and a\nnewline"},
                                                 {"empty", ""}};
  EXPECT_EQ(reader.metadata(), expected);
  ASSERT_EQ(reader.tensors().size(), 1u);
  float read_back = 0;
  std::memcpy(&read_back, reader.data(reader.info("w")), sizeof(read_back));
  EXPECT_EQ(read_back, value);
}

TEST_F(SafetensorsTest, HeaderLayoutMatchesTheFormat) {
  SafetensorsWriter writer;
  std::vector<uint8_t> b = pattern(8, 1);
  std::vector<uint8_t> a = pattern(3, 2);
  writer.add("b", DType::F32, {2}, b.data(), b.size());
  writer.add("a", DType::I8, {3}, a.data(), a.size());
  writer.set_metadata("format", "pt");
  fs::path path = dir_ / "layout.safetensors";
  writer.write(path);

  std::string file = read_bytes(path);
  ASSERT_GE(file.size(), 8u);
  uint64_t header_length = read_u64_le(file);
  EXPECT_EQ(header_length % 8, 0u) << "the data section must start 8-byte aligned";
  ASSERT_EQ(file.size(), 8 + header_length + b.size() + a.size());

  std::string header = file.substr(8, header_length);
  const std::string json =
      R"({"__metadata__":{"format":"pt"},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}})";
  ASSERT_GE(header.size(), json.size());
  EXPECT_EQ(header.substr(0, json.size()), json);
  EXPECT_EQ(header.substr(json.size()), std::string(header.size() - json.size(), ' '))
      << "padding must be spaces";
  EXPECT_LT(header.size() - json.size(), 8u);

  std::string data = file.substr(8 + header_length);
  EXPECT_EQ(data, std::string(b.begin(), b.end()) + std::string(a.begin(), a.end()));
}

TEST_F(SafetensorsTest, ReadsHandWrittenFileWithUnpaddedHeader) {
  // Other writers need not pad, may order keys freely and may leave gaps.
  std::string header =
      R"({"y":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
      R"("x":{"shape":[2,1],"data_offsets":[0,4],"dtype":"I16"},"__metadata__":{"k":"v"}})";
  fs::path path = raw_file(header, std::string("\x01\x02\x03\x04\x05\x06\x07", 7));
  SafetensorsReader reader(path);
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.tensors()[0].name, "y");
  EXPECT_EQ(reader.info("x").shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(reader.data(reader.info("y"))[0], 5);
  EXPECT_EQ(reader.data(reader.info("x"))[3], 4);
  EXPECT_EQ(reader.metadata().at("k"), "v");
}

TEST_F(SafetensorsTest, FileWithoutTensorsIsValid) {
  fs::path path = dir_ / "none.safetensors";
  SafetensorsWriter().write(path);
  SafetensorsReader reader(path);
  EXPECT_TRUE(reader.tensors().empty());
  EXPECT_EQ(read_bytes(path).size(), 16u);  // length field + "{}" padded to 8
}

TEST_F(SafetensorsTest, MovedReaderKeepsTheMapping) {
  SafetensorsWriter writer;
  std::vector<uint8_t> bytes = pattern(6, 3);
  writer.add("t", DType::U8, {6}, bytes.data(), bytes.size());
  fs::path path = dir_ / "move.safetensors";
  writer.write(path);

  SafetensorsReader first(path);
  SafetensorsReader second(std::move(first));
  SafetensorsReader third(path);
  third = std::move(second);
  EXPECT_EQ(std::memcmp(third.data(third.info("t")), bytes.data(), bytes.size()), 0);
}

TEST_F(SafetensorsTest, UnknownTensorNameThrows) {
  fs::path path = dir_ / "one.safetensors";
  uint8_t byte = 7;
  SafetensorsWriter writer;
  writer.add("present", DType::U8, {1}, &byte, 1);
  writer.write(path);
  SafetensorsReader reader(path);
  EXPECT_FALSE(reader.contains("absent"));
  try {
    reader.info("absent");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "one.safetensors"));
    EXPECT_TRUE(Contains(e.what(), "absent"));
  }
}

TEST_F(SafetensorsTest, EveryTruncationThrowsError) {
  SafetensorsWriter writer;
  std::vector<uint8_t> w = pattern(24, 4);
  std::vector<uint8_t> s = pattern(2, 5);
  writer.add("w", DType::F32, {2, 3}, w.data(), w.size());
  writer.add("s", DType::BF16, {}, s.data(), s.size());
  writer.set_metadata("k", "v");
  fs::path full = dir_ / "full.safetensors";
  writer.write(full);
  std::string bytes = read_bytes(full);
  ASSERT_NO_THROW(SafetensorsReader{full});

  fs::path cut = dir_ / "cut.safetensors";
  for (size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE("cut at " + std::to_string(size) + " of " + std::to_string(bytes.size()));
    write_bytes(cut, bytes.substr(0, size));
    EXPECT_THROW(SafetensorsReader{cut}, Error);
  }
}

TEST_F(SafetensorsTest, TruncationMessagesSayWhatIsMissing) {
  write_bytes(dir_ / "short.safetensors", "1234");
  expect_error(dir_ / "short.safetensors", "truncated: 4 bytes");
  expect_error(raw_file("{}", "", 400), "truncated: header says it is 400 bytes");
  expect_header_error(R"({"a":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}})",
                      "truncated: header says 1000 bytes of tensor data, file has 16");
}

TEST_F(SafetensorsTest, AbsurdHeaderLengthThrows) {
  expect_error(raw_file("{}", "", uint64_t{1} << 40), "over the 100000000 limit");
  expect_error(raw_file("{}", "", UINT64_MAX - 1), "over the 100000000 limit");
}

TEST_F(SafetensorsTest, MissingFileThrows) {
  expect_error(dir_ / "missing.safetensors", "cannot open");
  expect_error(dir_, "not a regular file");
}

TEST_F(SafetensorsTest, CorruptJsonThrows) {
  expect_header_error(R"({"a":{"dtype":"F32")", "not valid JSON");
  expect_header_error(R"({}garbage)", "not valid JSON");
  expect_header_error(std::string("{\0}", 3), "not valid JSON");
  expect_header_error("", "not valid JSON");
  expect_header_error(R"([1,2])", "not an object");
  expect_header_error(R"({"a":[1,2]})", "entry 'a' is not an object");
  expect_header_error(R"({"__metadata__":{"k":1}})", "'k' is not a string");
  expect_header_error(R"({"__metadata__":[]})", "must be an object of strings");
}

TEST_F(SafetensorsTest, MissingOrIllTypedFieldsThrow) {
  expect_header_error(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "no \"dtype\" field");
  expect_header_error(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", "no \"shape\" field");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1]}})", "no \"data_offsets\" field");
  expect_header_error(R"({"a":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})",
                      "\"dtype\" is not a string");
  expect_header_error(R"({"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})",
                      "\"shape\" is not an array");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})",
                      "not a valid dimension");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}})",
                      "not a valid dimension");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})",
                      "\"data_offsets\" must be [begin, end]");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,"1"]}})",
                      "\"data_offsets\" must be [begin, end]");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})",
                      "\"data_offsets\" must be [begin, end]");
}

TEST_F(SafetensorsTest, UnknownDtypeThrows) {
  expect_header_error(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
                      "unknown dtype 'F8_E4M3'");
  expect_header_error(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})",
                      "unknown dtype 'f32'");
  EXPECT_THROW(nanochat::dtype_from_name("float32"), Error);
  EXPECT_EQ(nanochat::dtype_from_name("BF16"), DType::BF16);
}

TEST_F(SafetensorsTest, NegativeDimensionThrows) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[-1,2],"data_offsets":[0,0]}})",
                      "negative dimension -1");
}

TEST_F(SafetensorsTest, BadOffsetsThrow) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[5,4]}})",
                      "begin is after end");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[14,18]}})",
                      "truncated: header says 18 bytes of tensor data, file has 16");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,18446744073709551616]}})",
                      "\"data_offsets\" must be [begin, end]");
}

TEST_F(SafetensorsTest, ShapeNotMatchingBytesThrows) {
  expect_header_error(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                      "tensor 'a' is F32 [2, 2] (16 bytes) but data_offsets [0, 12] span 12 bytes");
  expect_header_error(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,8]}})",
                      "(4 bytes) but data_offsets [0, 8] span 8 bytes");
  // 2^62 * 4 * 8 bytes overflows 64 bits; it must not wrap around to a small match.
  expect_header_error(
      R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,0]}})",
      "is too large");
}

TEST_F(SafetensorsTest, EmptyTensorWithHugeDimsIsValid) {
  fs::path path = raw_file(
      R"({"a":{"dtype":"F64","shape":[4611686018427387904,4,0],"data_offsets":[0,0]}})", "");
  SafetensorsReader reader(path);
  EXPECT_EQ(reader.info("a").nbytes, 0u);
}

TEST_F(SafetensorsTest, OverlappingRangesThrow) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                      "tensors 'a' and 'b' overlap");
  expect_header_error(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[8,12]},)"
                      R"("b":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})",
                      "tensors 'b' and 'a' overlap");
}

TEST_F(SafetensorsTest, EmptyTensorInsideAnotherRangeIsValid) {
  fs::path path = raw_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                           R"("e":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}})",
                           std::string(8, 'x'));
  SafetensorsReader reader(path);
  EXPECT_EQ(reader.tensors().size(), 2u);
}

TEST_F(SafetensorsTest, DuplicateNamesThrow) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      "key 'a' twice");
  expect_header_error(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})",
                      "key 'dtype' twice");
}

TEST_F(SafetensorsTest, WriterRejectsInconsistentTensors) {
  SafetensorsWriter writer;
  std::vector<uint8_t> bytes(16);
  EXPECT_THROW(writer.add("a", DType::F32, {2, 3}, bytes.data(), bytes.size()), Error);
  EXPECT_THROW(writer.add("a", DType::F32, {-4}, bytes.data(), bytes.size()), Error);
  EXPECT_THROW(writer.add("__metadata__", DType::U8, {16}, bytes.data(), bytes.size()), Error);
  EXPECT_THROW(writer.add("a", DType::U8, {16}, nullptr, 16), Error);
  writer.add("a", DType::F32, {4}, bytes.data(), bytes.size());
  EXPECT_THROW(writer.add("a", DType::U8, {16}, bytes.data(), bytes.size()), Error);
  EXPECT_NO_THROW(writer.add("empty", DType::U8, {0}, nullptr, 0));
}

TEST_F(SafetensorsTest, WriterRejectsNonUtf8Names) {
  SafetensorsWriter writer;
  uint8_t byte = 0;
  writer.add("bad\xff", DType::U8, {1}, &byte, 1);
  fs::path path = dir_ / "bad.safetensors";
  EXPECT_THROW(writer.write(path), Error);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SafetensorsTest, WriterErrorNamesMissingFolder) {
  SafetensorsWriter writer;
  fs::path path = dir_ / "no_such_folder" / "x.safetensors";
  try {
    writer.write(path);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "no_such_folder"));
  }
}

}  // namespace
