// A focused Parquet reader for one top-level string column (nanochat's `text` shards). It trusts
// nothing in the file: offsets and lengths are checked against the file and page sizes, counts
// against the bytes that must hold them, decompressed sizes against the page headers, and every
// failure becomes one nanochat::Error line naming the file.
#include "nanochat/parquet_reader.hpp"

#include <fcntl.h>
#include <snappy-c.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>

#include "nanochat/error.hpp"
#include "thrift_compact.hpp"

namespace nanochat {
namespace {

using thrift::CompactReader;
using thrift::CType;

// Sane limits: far above what a text shard needs (pages of ~1 MB, row groups of 1024 rows;
// pyarrow's default is 1Mi rows), low enough that a lying header cannot make us allocate
// gigabytes.
constexpr std::size_t kMaxPageBytes = std::size_t{256} << 20;
constexpr std::int64_t kMaxRowsPerRowGroup = std::int64_t{1} << 24;
constexpr int kMaxSchemaDepth = 64;
constexpr std::size_t kMaxListedColumns = 40;

constexpr std::int32_t kTypeByteArray = 6;
constexpr std::int32_t kRepRequired = 0;
constexpr std::int32_t kRepRepeated = 2;
constexpr std::int32_t kEncPlain = 0;
constexpr std::int32_t kEncPlainDictionary = 2;
constexpr std::int32_t kEncRle = 3;
constexpr std::int32_t kEncRleDictionary = 8;
constexpr std::int32_t kCodecUncompressed = 0;
constexpr std::int32_t kCodecSnappy = 1;
constexpr std::int32_t kCodecGzip = 2;
constexpr std::int32_t kCodecZstd = 6;
constexpr std::int32_t kPageData = 0;
constexpr std::int32_t kPageIndex = 1;
constexpr std::int32_t kPageDictionary = 2;
constexpr std::int32_t kPageDataV2 = 3;

[[noreturn]] void fail(const std::string& what) { throw Error(what); }

std::string enum_name(std::int32_t v, std::initializer_list<const char*> names) {
  if (v >= 0 && static_cast<std::size_t>(v) < names.size()) return names.begin()[v];
  return "unknown (" + std::to_string(v) + ")";
}

std::string type_name(std::int32_t t) {
  return enum_name(t, {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
                       "FIXED_LEN_BYTE_ARRAY"});
}

std::string encoding_name(std::int32_t e) {
  return enum_name(e, {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                       "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                       "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"});
}

std::string codec_name(std::int32_t c) {
  return enum_name(c, {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"});
}

// Names come from the file; keep messages on one line and of bounded length.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 200) out += "...";
  return "'" + out + "'";
}

std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

struct ByteSpan {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

// ---- File access -------------------------------------------------------------------------

class File {
 public:
  explicit File(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail("not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  std::uint64_t size() const { return size_; }

  // Callers have checked offset + n against size(); a short read means the file changed.
  void read_at(std::uint64_t offset, std::size_t n, std::uint8_t* dst) const {
    while (n > 0) {
      const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(std::string("read failed: ") + std::strerror(errno));
      if (got == 0) fail("file shrank while reading");
      dst += got;
      n -= static_cast<std::size_t>(got);
      offset += static_cast<std::uint64_t>(got);
    }
  }

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// ---- Footer metadata ---------------------------------------------------------------------

struct SchemaElement {
  std::string name;
  std::int32_t type = -1;
  std::int32_t repetition = 0;
  std::int32_t num_children = 0;
};

struct ColumnChunkMeta {
  bool has_meta = false;
  bool external = false;
  bool encrypted = false;
  std::int32_t type = -1;
  std::int32_t codec = -1;
  std::int64_t num_values = -1;
  std::int64_t total_compressed_size = -1;
  std::int64_t data_page_offset = -1;
  std::int64_t dictionary_page_offset = -1;
  std::vector<std::string> path;
};

struct RowGroupMeta {
  std::int64_t num_rows = -1;
  std::vector<ColumnChunkMeta> columns;
};

struct FileMeta {
  std::vector<SchemaElement> schema;
  std::string created_by;
  std::int64_t num_rows = -1;
  std::vector<RowGroupMeta> row_groups;
};

// Required thrift fields are tracked by bit so a missing one is reported by name.
void require(std::uint32_t seen, std::uint32_t bit, const char* what) {
  if ((seen & bit) == 0) fail(std::string("metadata lacks required field ") + what);
}

SchemaElement decode_schema_element(CompactReader& r) {
  SchemaElement e;
  bool has_name = false;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: e.type = r.read_i32(t); break;
      case 3: e.repetition = r.read_i32(t); break;
      case 4: e.name = r.read_string(t); has_name = true; break;
      case 5: e.num_children = r.read_i32(t); break;
      default: r.skip(t);
    }
  });
  if (!has_name) fail("schema element without a name");
  return e;
}

void decode_column_meta(CompactReader& r, ColumnChunkMeta& c) {
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: c.type = r.read_i32(t); seen |= 1; break;
      case 3:
        thrift::read_list(r, t, [&](CType e) { c.path.push_back(r.read_string(e)); });
        seen |= 2;
        break;
      case 4: c.codec = r.read_i32(t); seen |= 4; break;
      case 5: c.num_values = r.read_i64(t); seen |= 8; break;
      case 7: c.total_compressed_size = r.read_i64(t); seen |= 16; break;
      case 9: c.data_page_offset = r.read_i64(t); seen |= 32; break;
      case 11: c.dictionary_page_offset = r.read_i64(t); break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "ColumnMetaData.type");
  require(seen, 2, "ColumnMetaData.path_in_schema");
  require(seen, 4, "ColumnMetaData.codec");
  require(seen, 8, "ColumnMetaData.num_values");
  require(seen, 16, "ColumnMetaData.total_compressed_size");
  require(seen, 32, "ColumnMetaData.data_page_offset");
  c.has_meta = true;
}

ColumnChunkMeta decode_column_chunk(CompactReader& r) {
  ColumnChunkMeta c;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: r.skip(t); c.external = true; break;
      case 3: decode_column_meta(r, c); break;
      case 8:
      case 9: r.skip(t); c.encrypted = true; break;
      default: r.skip(t);
    }
  });
  return c;
}

RowGroupMeta decode_row_group(CompactReader& r) {
  RowGroupMeta g;
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1:
        thrift::read_list(r, t, [&](CType e) {
          if (e != CType::Struct) fail("RowGroup.columns is not a list of structs");
          g.columns.push_back(decode_column_chunk(r));
        });
        seen |= 1;
        break;
      case 3: g.num_rows = r.read_i64(t); seen |= 2; break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "RowGroup.columns");
  require(seen, 2, "RowGroup.num_rows");
  return g;
}

FileMeta decode_file_meta(const std::uint8_t* data, std::size_t size) {
  CompactReader r(data, size);
  FileMeta m;
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 2:
        thrift::read_list(r, t, [&](CType e) {
          if (e != CType::Struct) fail("FileMetaData.schema is not a list of structs");
          m.schema.push_back(decode_schema_element(r));
        });
        seen |= 1;
        break;
      case 3: m.num_rows = r.read_i64(t); seen |= 2; break;
      case 4:
        thrift::read_list(r, t, [&](CType e) {
          if (e != CType::Struct) fail("FileMetaData.row_groups is not a list of structs");
          m.row_groups.push_back(decode_row_group(r));
        });
        seen |= 4;
        break;
      case 6: m.created_by = r.read_string(t); break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "FileMetaData.schema");
  require(seen, 2, "FileMetaData.num_rows");
  require(seen, 4, "FileMetaData.row_groups");
  return m;
}

// ---- Schema ------------------------------------------------------------------------------

struct Leaf {
  std::string name;  // dotted path
  std::size_t path_length = 0;
  std::int32_t type = -1;
  int max_def = 0;
  int max_rep = 0;
};

class SchemaFlattener {
 public:
  explicit SchemaFlattener(const std::vector<SchemaElement>& schema) : schema_(schema) {}

  // The schema list is a depth-first walk of a tree; num_children says where each group ends.
  std::vector<Leaf> run() {
    if (schema_.empty()) fail("empty schema");
    const SchemaElement& root = schema_[0];
    if (root.num_children < 0) fail("schema root has a negative child count");
    next_ = 1;
    for (std::int32_t i = 0; i < root.num_children; ++i) visit("", 0, 0, 1, 1);
    if (next_ != schema_.size()) fail("schema has elements outside the tree (corrupt num_children?)");
    return std::move(leaves_);
  }

 private:
  void visit(const std::string& prefix, int def, int rep, std::size_t length, int depth) {
    if (depth > kMaxSchemaDepth) fail("schema nested deeper than " + std::to_string(kMaxSchemaDepth));
    if (next_ >= schema_.size()) fail("schema ends inside a group (corrupt num_children?)");
    const SchemaElement& e = schema_[next_++];
    if (e.repetition < 0 || e.repetition > kRepRepeated) {
      fail("schema element " + printable(e.name) + " has invalid repetition " + std::to_string(e.repetition));
    }
    const std::string name = prefix.empty() ? e.name : prefix + "." + e.name;
    def += e.repetition != kRepRequired ? 1 : 0;
    rep += e.repetition == kRepRepeated ? 1 : 0;
    if (e.num_children < 0) fail("schema element " + printable(e.name) + " has a negative child count");
    if (e.num_children > 0) {
      for (std::int32_t i = 0; i < e.num_children; ++i) visit(name, def, rep, length + 1, depth + 1);
      return;
    }
    if (e.type < 0 || e.type > 7) {
      fail("schema element " + printable(e.name) + " has invalid physical type " + std::to_string(e.type));
    }
    leaves_.push_back(Leaf{name, length, e.type, def, rep});
  }

  const std::vector<SchemaElement>& schema_;
  std::size_t next_ = 0;
  std::vector<Leaf> leaves_;
};

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string list_columns(const std::vector<Leaf>& leaves) {
  std::string out;
  for (std::size_t i = 0; i < leaves.size() && i < kMaxListedColumns; ++i) {
    out += (i ? ", " : "") + printable(leaves[i].name);
  }
  if (leaves.size() > kMaxListedColumns) out += ", ... (" + std::to_string(leaves.size()) + " in all)";
  return out.empty() ? "(none)" : out;
}

std::size_t select_column(const std::vector<Leaf>& leaves, const std::string& column) {
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (leaves[i].name != column) continue;
    const Leaf& l = leaves[i];
    if (l.path_length > 1 || l.max_rep > 0) {
      fail("column " + printable(column) + " is nested or repeated; only top-level columns can be read");
    }
    if (l.type != kTypeByteArray) {
      fail("column " + printable(column) + " has physical type " + type_name(l.type) +
           "; only BYTE_ARRAY (string) columns can be read");
    }
    return i;
  }
  for (const Leaf& l : leaves) {
    if (l.name.compare(0, column.size() + 1, column + ".") == 0) {
      fail("column " + printable(column) + " is a nested group; only top-level string columns can be read");
    }
  }
  fail("no column " + printable(column) + "; columns: " + list_columns(leaves));
}

// ---- Levels and dictionary indices (RLE / bit-packed hybrid) ----------------------------

class HybridDecoder {
 public:
  // `what` names the data in messages ("definition levels", "dictionary indices").
  HybridDecoder(ByteSpan in, int bit_width, const char* what)
      : p_(in.data), end_(in.data + in.size), width_(bit_width), what_(what) {
    if (bit_width < 0 || bit_width > 32) error("bit width " + std::to_string(bit_width) + " out of range");
  }

  // Decodes exactly out.size() values; running out of data first is an error. T must hold
  // 2^bit_width - 1.
  template <class T>
  void decode(std::vector<T>& out) {
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint32_t header = read_header();
      const std::size_t want = out.size() - done;
      if (header & 1) {
        done += unpack_bits(static_cast<std::uint64_t>(header >> 1) * 8, want, out.data() + done);
      } else {
        const std::size_t n = std::min<std::size_t>(header >> 1, want);
        std::fill_n(out.data() + done, n, static_cast<T>(read_run_value()));
        done += n;
      }
    }
  }

 private:
  std::uint32_t read_header() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p_ == end_) error("data ends before all values are decoded");
      const std::uint8_t b = *p_++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (v > 0xffffffffu) break;
        return static_cast<std::uint32_t>(v);
      }
    }
    error("bad run header");
  }

  [[noreturn]] void error(const std::string& message) const { fail(std::string(what_) + ": " + message); }

  std::uint32_t read_run_value() {
    const std::size_t bytes = (static_cast<std::size_t>(width_) + 7) / 8;
    if (static_cast<std::size_t>(end_ - p_) < bytes) error("data ends inside an RLE run");
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v |= static_cast<std::uint32_t>(p_[i]) << (8 * i);
    p_ += bytes;
    return v;
  }

  // A bit-packed run holds `count` values LSB first; we take at most `want` of them and need
  // only the bytes those occupy (some writers trim the last group's padding).
  template <class T>
  std::size_t unpack_bits(std::uint64_t count, std::size_t want, T* out) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(count, want));
    const std::size_t avail = static_cast<std::size_t>(end_ - p_);
    const std::uint64_t need = (static_cast<std::uint64_t>(take) * width_ + 7) / 8;
    if (need > avail) error("data ends inside a bit-packed run");
    const std::uint64_t mask = (std::uint64_t{1} << width_) - 1;
    std::uint64_t acc = 0;
    int bits = 0;
    const std::uint8_t* q = p_;
    for (std::size_t i = 0; i < take; ++i) {
      while (bits < width_) {
        acc |= static_cast<std::uint64_t>(*q++) << bits;
        bits += 8;
      }
      out[i] = static_cast<T>(acc & mask);
      acc >>= width_;
      bits -= width_;
    }
    p_ += static_cast<std::size_t>(std::min<std::uint64_t>(count * width_ / 8, avail));
    return take;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  int width_;
  const char* what_;
};

// ---- Decompression -----------------------------------------------------------------------

class Decompressor {
 public:
  Decompressor() = default;
  ~Decompressor() {
    if (zstd_ != nullptr) ZSTD_freeDCtx(zstd_);
    if (zlib_ready_) inflateEnd(&zlib_);
  }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Returns `in` decompressed to exactly `expected` bytes (in itself when uncompressed).
  ByteSpan run(std::int32_t codec, ByteSpan in, std::size_t expected, std::vector<std::uint8_t>& out) {
    if (expected > kMaxPageBytes) {
      fail("page claims " + std::to_string(expected) + " uncompressed bytes (limit " +
           std::to_string(kMaxPageBytes) + ")");
    }
    if (codec == kCodecUncompressed || (in.size == 0 && expected == 0)) {
      if (in.size != expected) {
        fail("uncompressed page holds " + std::to_string(in.size) + " bytes, header says " + std::to_string(expected));
      }
      return in;
    }
    switch (codec) {
      case kCodecSnappy: snappy(in, expected, out); break;
      case kCodecZstd: zstd(in, expected, out); break;
      case kCodecGzip: gzip(in, expected, out); break;
      default: fail("unsupported compression " + codec_name(codec));
    }
    return ByteSpan{out.data(), expected};
  }

 private:
  static void check_size(const char* codec, std::size_t got, std::size_t expected) {
    if (got != expected) {
      fail(std::string(codec) + " data decompresses to " + (got > expected ? "more than " : "") +
           std::to_string(got) + " bytes, page header says " + std::to_string(expected));
    }
  }

  // The first output buffer: big enough for typical text ratios so one allocation suffices,
  // yet tied to the compressed size so a lying header cannot force a huge one up front. It
  // grows to at most expected + 1, the extra byte catching data longer than declared.
  static std::size_t first_capacity(std::size_t compressed, std::size_t expected) {
    return std::min(expected + 1, std::max<std::size_t>(compressed * 16, std::size_t{1} << 20));
  }

  static void grow(std::vector<std::uint8_t>& out, std::size_t expected) {
    out.resize(std::min(expected + 1, out.size() * 2));
  }

  static void snappy(ByteSpan in, std::size_t expected, std::vector<std::uint8_t>& out) {
    const char* src = reinterpret_cast<const char*>(in.data);
    std::size_t declared = 0;
    if (snappy_uncompressed_length(src, in.size, &declared) != SNAPPY_OK) fail("corrupt snappy data");
    check_size("snappy", declared, expected);
    // A snappy element expands at most 64 bytes from 3, so a longer claim is a lie.
    if (expected / 22 > in.size) fail("snappy data claims an impossible expansion ratio");
    out.resize(std::max<std::size_t>(expected, 1));
    std::size_t got = out.size();
    if (snappy_uncompress(src, in.size, reinterpret_cast<char*>(out.data()), &got) != SNAPPY_OK) {
      fail("corrupt snappy data");
    }
    check_size("snappy", got, expected);
  }

  void zstd(ByteSpan in, std::size_t expected, std::vector<std::uint8_t>& out) {
    if (zstd_ == nullptr && (zstd_ = ZSTD_createDCtx()) == nullptr) throw std::bad_alloc();
    ZSTD_DCtx_reset(zstd_, ZSTD_reset_session_only);
    out.resize(first_capacity(in.size, expected));
    ZSTD_inBuffer src{in.data, in.size, 0};
    std::size_t produced = 0;
    for (;;) {
      ZSTD_outBuffer dst{out.data(), out.size(), produced};
      const std::size_t rc = ZSTD_decompressStream(zstd_, &dst, &src);
      if (ZSTD_isError(rc)) fail(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc));
      produced = dst.pos;
      if (produced > expected) check_size("zstd", produced, expected);
      if (rc == 0 && src.pos == src.size) break;
      if (dst.pos == dst.size) {
        grow(out, expected);
      } else if (src.pos == src.size) {
        fail("zstd data is truncated");
      }
    }
    check_size("zstd", produced, expected);
  }

  void gzip(ByteSpan in, std::size_t expected, std::vector<std::uint8_t>& out) {
    if (!zlib_ready_) {
      // 32 + MAX_WBITS accepts gzip and zlib headers alike, as Arrow does for the GZIP codec.
      if (inflateInit2(&zlib_, 32 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
      zlib_ready_ = true;
    } else {
      inflateReset(&zlib_);
    }
    out.resize(first_capacity(in.size, expected));
    zlib_.next_in = const_cast<Bytef*>(in.data);
    zlib_.avail_in = static_cast<uInt>(in.size);
    std::size_t produced = 0;
    for (;;) {
      zlib_.next_out = out.data() + produced;
      zlib_.avail_out = static_cast<uInt>(out.size() - produced);
      const int rc = inflate(&zlib_, Z_NO_FLUSH);
      produced = out.size() - zlib_.avail_out;
      if (produced > expected) check_size("gzip", produced, expected);
      if (rc == Z_STREAM_END) {
        if (zlib_.avail_in == 0) break;
        inflateReset(&zlib_);  // concatenated gzip members
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail(std::string("corrupt gzip data: ") + (zlib_.msg != nullptr ? zlib_.msg : "inflate failed"));
      } else if (zlib_.avail_out == 0) {
        grow(out, expected);
      } else if (zlib_.avail_in == 0) {
        fail("gzip data is truncated");
      }
    }
    check_size("gzip", produced, expected);
  }

  ZSTD_DCtx* zstd_ = nullptr;
  z_stream zlib_{};
  bool zlib_ready_ = false;
};

// ---- Pages -------------------------------------------------------------------------------

struct PageHeader {
  std::int32_t type = -1;
  std::int32_t uncompressed_size = -1;
  std::int32_t compressed_size = -1;
  bool has_crc = false;
  std::uint32_t crc = 0;
  std::int32_t num_values = -1;
  std::int32_t encoding = -1;
  std::int32_t def_encoding = kEncRle;
  std::int32_t num_nulls = 0;
  std::int32_t def_length = 0;
  std::int32_t rep_length = 0;
  bool is_compressed = true;
};

void decode_data_page_v1(CompactReader& r, PageHeader& h) {
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: h.num_values = r.read_i32(t); seen |= 1; break;
      case 2: h.encoding = r.read_i32(t); seen |= 2; break;
      case 3: h.def_encoding = r.read_i32(t); seen |= 4; break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "DataPageHeader.num_values");
  require(seen, 2, "DataPageHeader.encoding");
  require(seen, 4, "DataPageHeader.definition_level_encoding");
}

void decode_data_page_v2(CompactReader& r, PageHeader& h) {
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: h.num_values = r.read_i32(t); seen |= 1; break;
      case 2: h.num_nulls = r.read_i32(t); seen |= 2; break;
      case 4: h.encoding = r.read_i32(t); seen |= 4; break;
      case 5: h.def_length = r.read_i32(t); seen |= 8; break;
      case 6: h.rep_length = r.read_i32(t); seen |= 16; break;
      case 7: h.is_compressed = r.read_bool(t); break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "DataPageHeaderV2.num_values");
  require(seen, 2, "DataPageHeaderV2.num_nulls");
  require(seen, 4, "DataPageHeaderV2.encoding");
  require(seen, 8, "DataPageHeaderV2.definition_levels_byte_length");
  require(seen, 16, "DataPageHeaderV2.repetition_levels_byte_length");
}

void decode_dictionary_page(CompactReader& r, PageHeader& h) {
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: h.num_values = r.read_i32(t); seen |= 1; break;
      case 2: h.encoding = r.read_i32(t); seen |= 2; break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "DictionaryPageHeader.num_values");
  require(seen, 2, "DictionaryPageHeader.encoding");
}

PageHeader decode_page_header(CompactReader& r) {
  PageHeader h;
  std::uint32_t seen = 0;
  thrift::read_struct(r, [&](std::int16_t id, CType t) {
    switch (id) {
      case 1: h.type = r.read_i32(t); seen |= 1; break;
      case 2: h.uncompressed_size = r.read_i32(t); seen |= 2; break;
      case 3: h.compressed_size = r.read_i32(t); seen |= 4; break;
      case 4: h.crc = static_cast<std::uint32_t>(r.read_i32(t)); h.has_crc = true; break;
      case 5: decode_data_page_v1(r, h); seen |= 8; break;
      case 7: decode_dictionary_page(r, h); seen |= 16; break;
      case 8: decode_data_page_v2(r, h); seen |= 32; break;
      default: r.skip(t);
    }
  });
  require(seen, 1, "PageHeader.type");
  require(seen, 2, "PageHeader.uncompressed_page_size");
  require(seen, 4, "PageHeader.compressed_page_size");
  if (h.uncompressed_size < 0 || h.compressed_size < 0) fail("page header has a negative size");
  if ((h.type == kPageData && !(seen & 8)) || (h.type == kPageDictionary && !(seen & 16)) ||
      (h.type == kPageDataV2 && !(seen & 32))) {
    fail("page header of type " + std::to_string(h.type) + " lacks its type-specific header");
  }
  if (h.num_values < 0 && h.type != kPageIndex) fail("page header has a negative number of values");
  return h;
}

// What a row group read produces: non-null values in row order and, if asked, one
// defined/null flag per row.
struct ColumnValues {
  std::vector<std::string> values;
  std::vector<std::uint8_t> defined;
  bool track_nulls = false;
};

// Decodes one column chunk page by page. Holds the dictionary and scratch buffers so they are
// reused across pages.
class ChunkDecoder {
 public:
  ChunkDecoder(std::int32_t codec, int max_def, ColumnValues& out) : codec_(codec), max_def_(max_def), out_(out) {}

  void run(ByteSpan chunk, std::int64_t num_values) {
    std::size_t pos = 0;
    std::int64_t remaining = num_values;
    while (remaining > 0) {
      if (pos >= chunk.size) {
        fail("column chunk ends after " + std::to_string(num_values - remaining) + " of " +
             std::to_string(num_values) + " values");
      }
      CompactReader r(chunk.data + pos, chunk.size - pos);
      const PageHeader h = decode_page_header(r);
      pos += r.position();
      if (static_cast<std::size_t>(h.compressed_size) > chunk.size - pos) fail("page runs past the column chunk");
      const ByteSpan page{chunk.data + pos, static_cast<std::size_t>(h.compressed_size)};
      pos += page.size;
      if (h.has_crc && static_cast<std::uint32_t>(crc32(0, page.data, static_cast<uInt>(page.size))) != h.crc) {
        fail("page checksum mismatch");
      }
      if (h.type == kPageDictionary) {
        on_dictionary(h, page);
      } else if (h.type == kPageData || h.type == kPageDataV2) {
        if (h.num_values > remaining) fail("pages hold more values than the column chunk");
        h.type == kPageData ? on_data_v1(h, page) : on_data_v2(h, page);
        remaining -= h.num_values;
        seen_data_ = true;
      } else if (h.type != kPageIndex) {
        fail("unknown page type " + std::to_string(h.type));
      }
    }
  }

 private:
  void on_dictionary(const PageHeader& h, ByteSpan page) {
    if (has_dict_ || seen_data_) fail("dictionary page is not the first page of its column chunk");
    if (h.encoding != kEncPlain && h.encoding != kEncPlainDictionary) {
      fail("dictionary page has unsupported encoding " + encoding_name(h.encoding));
    }
    const ByteSpan data = decompressor_.run(codec_, page, static_cast<std::size_t>(h.uncompressed_size), dict_buffer_);
    // Each entry takes at least its 4-byte length, which bounds the reservation.
    if (static_cast<std::size_t>(h.num_values) > data.size / 4) fail("dictionary page holds fewer values than its header says");
    dict_.clear();
    dict_.reserve(static_cast<std::size_t>(h.num_values));
    std::size_t pos = 0;
    for (std::int32_t i = 0; i < h.num_values; ++i) dict_.push_back(next_plain(data, pos));
    has_dict_ = true;
  }

  void on_data_v1(const PageHeader& h, ByteSpan page) {
    ByteSpan data = decompressor_.run(codec_, page, static_cast<std::size_t>(h.uncompressed_size), scratch_);
    std::size_t non_null = static_cast<std::size_t>(h.num_values);
    if (max_def_ > 0) {
      if (h.def_encoding != kEncRle) fail("unsupported definition level encoding " + encoding_name(h.def_encoding));
      if (data.size < 4) fail("data page too short for its definition levels");
      const std::size_t n = load_le32(data.data);
      if (n > data.size - 4) fail("definition levels run past the data page");
      non_null = decode_levels(ByteSpan{data.data + 4, n}, h.num_values);
      data = ByteSpan{data.data + 4 + n, data.size - 4 - n};
    } else {
      append_all_defined(h.num_values);
    }
    decode_values(h.encoding, data, non_null);
  }

  void on_data_v2(const PageHeader& h, ByteSpan page) {
    if (h.def_length < 0 || h.rep_length < 0) fail("data page v2 has negative level lengths");
    const std::size_t levels = static_cast<std::size_t>(h.def_length) + static_cast<std::size_t>(h.rep_length);
    if (levels > page.size || levels > static_cast<std::size_t>(h.uncompressed_size)) {
      fail("data page v2 levels are longer than the page");
    }
    std::size_t non_null = static_cast<std::size_t>(h.num_values);
    if (max_def_ > 0) {
      non_null = decode_levels(ByteSpan{page.data + h.rep_length, static_cast<std::size_t>(h.def_length)}, h.num_values);
    } else {
      append_all_defined(h.num_values);
    }
    if (h.num_nulls < 0 || static_cast<std::size_t>(h.num_values) - non_null != static_cast<std::size_t>(h.num_nulls)) {
      fail("data page v2 says " + std::to_string(h.num_nulls) + " nulls, its levels say " +
           std::to_string(static_cast<std::size_t>(h.num_values) - non_null));
    }
    // Levels stay uncompressed in v2; only the values section goes through the codec.
    const ByteSpan body{page.data + levels, page.size - levels};
    const std::size_t expected = static_cast<std::size_t>(h.uncompressed_size) - levels;
    const ByteSpan data = decompressor_.run(h.is_compressed ? codec_ : kCodecUncompressed, body, expected, scratch_);
    decode_values(h.encoding, data, non_null);
  }

  void append_all_defined(std::int32_t n) {
    if (out_.track_nulls) out_.defined.insert(out_.defined.end(), static_cast<std::size_t>(n), 1);
  }

  // Returns the number of non-null values among `count` levels (max level 1 for flat columns).
  std::size_t decode_levels(ByteSpan data, std::int32_t count) {
    levels_.resize(static_cast<std::size_t>(count));
    HybridDecoder(data, 1, "definition levels").decode(levels_);
    std::size_t non_null = 0;
    for (std::uint8_t l : levels_) {
      if (l > max_def_) fail("definition level " + std::to_string(l) + " above maximum");
      non_null += l;
    }
    if (out_.track_nulls) out_.defined.insert(out_.defined.end(), levels_.begin(), levels_.end());
    return non_null;
  }

  static std::string_view next_plain(ByteSpan data, std::size_t& pos) {
    if (data.size - pos < 4) fail("PLAIN value length runs past the page");
    const std::size_t n = load_le32(data.data + pos);
    pos += 4;
    if (n > data.size - pos) fail("PLAIN value of " + std::to_string(n) + " bytes runs past the page");
    const std::string_view v(reinterpret_cast<const char*>(data.data + pos), n);
    pos += n;
    return v;
  }

  void decode_values(std::int32_t encoding, ByteSpan data, std::size_t count) {
    if (encoding == kEncPlain) {
      std::size_t pos = 0;
      for (std::size_t i = 0; i < count; ++i) out_.values.emplace_back(next_plain(data, pos));
    } else if (encoding == kEncPlainDictionary || encoding == kEncRleDictionary) {
      decode_dictionary_indices(data, count);
    } else {
      fail("unsupported value encoding " + encoding_name(encoding) + " (supported: PLAIN, dictionary)");
    }
  }

  void decode_dictionary_indices(ByteSpan data, std::size_t count) {
    if (count == 0) return;
    if (!has_dict_) fail("dictionary-encoded page without a dictionary page");
    if (data.size < 1) fail("dictionary-encoded page has no bit width");
    indices_.resize(count);
    HybridDecoder(ByteSpan{data.data + 1, data.size - 1}, data.data[0], "dictionary indices").decode(indices_);
    for (std::uint32_t i : indices_) {
      if (i >= dict_.size()) {
        fail("dictionary index " + std::to_string(i) + " out of range (dictionary has " + std::to_string(dict_.size()) + ")");
      }
      out_.values.emplace_back(dict_[i]);
    }
  }

  std::int32_t codec_;
  int max_def_;
  ColumnValues& out_;
  Decompressor decompressor_;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> dict_buffer_;
  std::vector<std::string_view> dict_;
  std::vector<std::uint8_t> levels_;
  std::vector<std::uint32_t> indices_;
  bool has_dict_ = false;
  bool seen_data_ = false;
};

// Runs `body`, turning any failure into one Error line that names the file and context.
template <class Body>
auto with_context(const std::string& context, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    throw Error(context + ": out of memory");
  } catch (const std::length_error& e) {
    throw Error(context + ": " + e.what());
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  }
}

}  // namespace

// ---- ParquetReader -----------------------------------------------------------------------

// parquet-mr up to 1.2.8 left the dictionary page header out of total_compressed_size
// (PARQUET-816). Like Arrow, files that may come from it get up to 100 bytes of slack.
bool may_undercount_chunk(const std::string& created_by) {
  if (created_by.rfind("parquet-mr", 0) != 0) return false;
  const std::size_t at = created_by.find("version ");
  int major = 0, minor = 0, patch = 0;
  if (at == std::string::npos ||
      std::sscanf(created_by.c_str() + at + 8, "%d.%d.%d", &major, &minor, &patch) < 1) {
    return true;
  }
  return std::make_tuple(major, minor, patch) < std::make_tuple(1, 2, 9);
}
constexpr std::uint64_t kParquet816Slack = 100;

// Where the selected column's data lives in one row group, checked against the file.
struct ChunkLocation {
  std::int32_t codec = kCodecUncompressed;
  std::int64_t rows = 0;
  std::uint64_t start = 0;
  std::uint64_t length = 0;
};

struct ParquetReader::Impl {
  std::string path;
  std::string column;
  File file;
  std::uint64_t data_end = 0;  // where the footer starts
  std::vector<Leaf> leaves;
  int max_def = 0;
  std::int64_t num_rows = 0;
  std::vector<ChunkLocation> chunks;  // one per row group

  Impl(std::string p, std::string c) : path(std::move(p)), column(std::move(c)), file(path) {}

  // Reads the footer and flattens the schema into `leaves`.
  FileMeta load() {
    FileMeta meta = decode_file_meta_from_footer();
    leaves = SchemaFlattener(meta.schema).run();
    return meta;
  }

  // Picks `column` and checks where its chunk lies in every row group.
  void select(const FileMeta& meta) {
    const std::size_t index = select_column(leaves, column);
    max_def = leaves[index].max_def;
    const bool slack = may_undercount_chunk(meta.created_by);
    for (std::size_t g = 0; g < meta.row_groups.size(); ++g) {
      const RowGroupMeta& rg = meta.row_groups[g];
      const std::string where = "row group " + std::to_string(g);
      if (rg.columns.size() != leaves.size()) {
        fail(where + " has " + std::to_string(rg.columns.size()) + " column chunks, schema has " +
             std::to_string(leaves.size()) + " columns");
      }
      if (rg.num_rows < 0 || rg.num_rows > kMaxRowsPerRowGroup) {
        fail(where + " claims " + std::to_string(rg.num_rows) + " rows (limit " + std::to_string(kMaxRowsPerRowGroup) + ")");
      }
      chunks.push_back(locate_chunk(rg.columns[index], rg.num_rows, slack, where));
      num_rows += rg.num_rows;
    }
    if (num_rows != meta.num_rows) {
      fail("footer says " + std::to_string(meta.num_rows) + " rows, row groups hold " + std::to_string(num_rows));
    }
  }

  FileMeta decode_file_meta_from_footer() {
    const std::uint64_t size = file.size();
    if (size < 12) fail("too small to be a Parquet file (" + std::to_string(size) + " bytes)");
    std::uint8_t head[4];
    std::uint8_t tail[8];
    file.read_at(0, 4, head);
    file.read_at(size - 8, 8, tail);
    if (std::memcmp(tail + 4, "PARE", 4) == 0) fail("encrypted footer; encrypted Parquet is not supported");
    if (std::memcmp(head, "PAR1", 4) != 0 || std::memcmp(tail + 4, "PAR1", 4) != 0) {
      fail("not a Parquet file (no PAR1 magic at both ends; truncated?)");
    }
    const std::uint32_t footer = load_le32(tail);
    if (footer > size - 12) fail("footer length " + std::to_string(footer) + " exceeds the file");
    data_end = size - 8 - footer;
    std::vector<std::uint8_t> bytes(footer);
    file.read_at(data_end, footer, bytes.data());
    return with_context("footer", [&] { return decode_file_meta(bytes.data(), bytes.size()); });
  }

  ChunkLocation locate_chunk(const ColumnChunkMeta& c, std::int64_t rows, bool slack, const std::string& where) const {
    if (c.external) fail(where + ": column chunk lives in another file, which is not supported");
    if (c.encrypted) fail(where + ": column is encrypted, which is not supported");
    if (!c.has_meta) fail(where + ": column chunk has no metadata");
    if (c.type != kTypeByteArray) fail(where + ": column chunk has type " + type_name(c.type) + ", schema says BYTE_ARRAY");
    if (join(c.path, ".") != column) fail(where + ": column chunk is for " + printable(join(c.path, ".")));
    if (c.codec != kCodecUncompressed && c.codec != kCodecSnappy && c.codec != kCodecGzip && c.codec != kCodecZstd) {
      fail(where + ": compression " + codec_name(c.codec) + " is not supported (supported: none, snappy, gzip, zstd)");
    }
    if (c.num_values != rows) {
      fail(where + ": column chunk has " + std::to_string(c.num_values) + " values for " + std::to_string(rows) + " rows");
    }
    // Some writers put 0 in dictionary_page_offset to mean "none"; a real one precedes the data.
    std::int64_t start = c.data_page_offset;
    if (c.dictionary_page_offset > 0 && c.dictionary_page_offset < start) start = c.dictionary_page_offset;
    if (start < 4 || c.total_compressed_size <= 0 || static_cast<std::uint64_t>(start) > data_end ||
        static_cast<std::uint64_t>(c.total_compressed_size) > data_end - static_cast<std::uint64_t>(start)) {
      fail(where + ": column chunk byte range [" + std::to_string(start) + ", +" + std::to_string(c.total_compressed_size) +
           ") lies outside the data section");
    }
    ChunkLocation loc{c.codec, rows, static_cast<std::uint64_t>(start), static_cast<std::uint64_t>(c.total_compressed_size)};
    if (slack) loc.length += std::min(kParquet816Slack, data_end - loc.start - loc.length);
    return loc;
  }

  void read(std::size_t g, ColumnValues& out) const {
    if (g >= chunks.size()) {
      throw Error(path + ": row group " + std::to_string(g) + " out of range (file has " + std::to_string(chunks.size()) + ")");
    }
    with_context(path + ": column " + printable(column) + ", row group " + std::to_string(g), [&] {
      const ChunkLocation& c = chunks[g];
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(c.length));
      file.read_at(c.start, bytes.size(), bytes.data());
      out.values.reserve(static_cast<std::size_t>(std::min<std::int64_t>(c.rows, 1 << 16)));
      ChunkDecoder(c.codec, max_def, out).run(ByteSpan{bytes.data(), bytes.size()}, c.rows);
    });
  }
};

ParquetReader::ParquetReader(const std::string& path, const std::string& column) {
  with_context(path, [&] {
    impl_ = std::make_unique<Impl>(path, column);
    impl_->select(impl_->load());
  });
}

std::vector<std::string> ParquetReader::list_columns(const std::string& path) {
  return with_context(path, [&] {
    Impl impl(path, "");
    impl.load();
    std::vector<std::string> names;
    for (const Leaf& l : impl.leaves) names.push_back(l.name);
    return names;
  });
}

ParquetReader::~ParquetReader() = default;
ParquetReader::ParquetReader(ParquetReader&&) noexcept = default;
ParquetReader& ParquetReader::operator=(ParquetReader&&) noexcept = default;

const std::string& ParquetReader::path() const { return impl_->path; }
const std::string& ParquetReader::column() const { return impl_->column; }

std::size_t ParquetReader::num_row_groups() const { return impl_->chunks.size(); }
std::int64_t ParquetReader::num_rows() const { return impl_->num_rows; }

std::int64_t ParquetReader::num_rows(std::size_t row_group) const {
  if (row_group >= impl_->chunks.size()) {
    throw Error(impl_->path + ": row group " + std::to_string(row_group) + " out of range (file has " +
                std::to_string(impl_->chunks.size()) + ")");
  }
  return impl_->chunks[row_group].rows;
}

std::vector<std::string> ParquetReader::read_row_group(std::size_t row_group) const {
  ColumnValues out;
  impl_->read(row_group, out);
  return std::move(out.values);
}

std::vector<std::optional<std::string>> ParquetReader::read_row_group_nullable(std::size_t row_group) const {
  ColumnValues out;
  out.track_nulls = true;
  impl_->read(row_group, out);
  std::vector<std::optional<std::string>> rows;
  rows.reserve(out.defined.size());
  std::size_t next = 0;
  for (std::uint8_t defined : out.defined) {
    rows.push_back(defined ? std::optional<std::string>(std::move(out.values[next++])) : std::nullopt);
  }
  return rows;
}

void ParquetReader::for_each_row_group(const std::function<bool(std::size_t, std::vector<std::string>&)>& fn,
                                       std::size_t first, std::size_t stride) const {
  if (stride == 0) throw Error(impl_->path + ": for_each_row_group needs a stride of at least 1");
  const std::size_t n = num_row_groups();
  for (std::size_t g = first; g < n; g += stride) {
    std::vector<std::string> texts = read_row_group(g);
    if (!fn(g, texts) || n - g <= stride) return;  // the second test also keeps g + stride from wrapping
  }
}

}  // namespace nanochat
