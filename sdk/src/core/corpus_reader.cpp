// Streaming documents out of .txt / .jsonl files, gzip-compressed or not (see
// nanochat/corpus.hpp). GzFile (zlib's gzread) reads plain files too, so one reader serves
// both; JSONL lines are parsed with simdjson, which is >10x faster than a DOM parser here and
// validates UTF-8 on the way.
#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <simdjson.h>

#include "gz_file.hpp"
#include "nanochat/corpus.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/utf8.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

enum class FileKind { txt, jsonl };

constexpr size_t kReadBlock = 1 << 20;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The kind of a corpus file by its name, or nothing for a file that is not one.
std::optional<FileKind> kind_of(const fs::path& path) {
  const std::string name = path.filename().string();
  if (ends_with(name, ".txt") || ends_with(name, ".txt.gz")) return FileKind::txt;
  if (ends_with(name, ".jsonl") || ends_with(name, ".jsonl.gz")) return FileKind::jsonl;
  return std::nullopt;
}

}  // namespace

std::vector<fs::path> list_corpus_files(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(fmt::format("corpus '{}' does not exist", path.string()));
  if (!fs::is_directory(status)) {
    if (!kind_of(path)) {
      throw Error(fmt::format("corpus file '{}' is not .txt, .jsonl, .txt.gz or .jsonl.gz", path.string()));
    }
    return {path};
  }
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && kind_of(it->path())) files.push_back(it->path());
  }
  if (ec) throw Error(fmt::format("corpus '{}': cannot list: {}", path.string(), ec.message()));
  if (files.empty()) {
    throw Error(fmt::format("corpus folder '{}' holds no .txt, .jsonl, .txt.gz or .jsonl.gz file", path.string()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct CorpusReader::Impl {
  CorpusOptions options;
  std::vector<fs::path> files;
  size_t next_file = 0;
  CorpusStats stats;
  bool finished = false;  // max_chars reached

  // The open file.
  std::unique_ptr<GzFile> file;
  FileKind kind = FileKind::txt;
  fs::path path;
  std::string buffer;  // bytes read and not yet consumed, from buffer_pos on
  size_t buffer_pos = 0;
  bool at_eof = false;
  uint64_t line = 0;

  simdjson::ondemand::parser parser;
  std::string padded;  // the current JSONL line plus simdjson's padding

  // Skips (with a warning and a count) or throws, as options.skip_bad says.
  void bad_file(const std::string& message) {
    if (!options.skip_bad) throw Error(message);
    log::warn("skipping {}", message);
    ++stats.skipped_files;
    file.reset();
  }

  bool open_next_file() {
    while (next_file < files.size()) {
      path = files[next_file++];
      kind = *kind_of(path);
      buffer.clear();
      buffer_pos = 0;
      at_eof = false;
      line = 0;
      try {
        file = std::make_unique<GzFile>(path);
        ++stats.files;
        return true;
      } catch (const Error& e) {
        bad_file(e.what());
      }
    }
    return false;
  }

  // Reads until `buffer` holds a full line (or the rest of the file); false when empty.
  bool next_line(std::string_view& out) {
    for (;;) {
      const char* start = buffer.data() + buffer_pos;
      const size_t available = buffer.size() - buffer_pos;
      if (const void* newline = std::memchr(start, '\n', available)) {
        const size_t length = static_cast<const char*>(newline) - start;
        out = std::string_view(start, length);
        buffer_pos += length + 1;
        ++line;
        return true;
      }
      if (at_eof) {
        if (available == 0) return false;
        out = std::string_view(start, available);
        buffer_pos = buffer.size();
        ++line;
        return true;
      }
      buffer.erase(0, buffer_pos);
      buffer_pos = 0;
      at_eof = !file->read(buffer, kReadBlock);
    }
  }

  // The whole (remaining) file, for .txt.
  std::string read_all() {
    std::string text = buffer.substr(buffer_pos);
    while (file->read(text, kReadBlock)) {
    }
    buffer.clear();
    buffer_pos = 0;
    at_eof = true;
    line = 1;
    return text;
  }

  // The text field of a JSONL line; false (after counting or throwing) when malformed.
  bool parse_jsonl(std::string_view json, std::string& document) {
    padded.assign(json.data(), json.size());
    padded.resize(json.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    std::string_view text;
    simdjson::error_code error = parser.iterate(padded.data(), json.size(), padded.size()).get(doc);
    if (!error) error = doc.get_object().get(object);
    std::string what;
    if (!error) {
      error = object.find_field_unordered(options.text_field).get_string().get(text);
      if (error == simdjson::NO_SUCH_FIELD) what = fmt::format("no field \"{}\"", options.text_field);
      if (error == simdjson::INCORRECT_TYPE) what = fmt::format("field \"{}\" is not a string", options.text_field);
    }
    if (!error) {
      document.assign(text);
      return true;
    }
    if (what.empty()) what = std::string("not a JSON object: ") + simdjson::error_message(error);
    const std::string message = fmt::format("{}:{}: {}", path.string(), line, what);
    if (!options.skip_bad) {
      throw Error(message + " (use --text-field to name the field holding the text)");
    }
    if (stats.skipped_lines == 0) log::warn("skipping malformed lines, first at {}", message);
    ++stats.skipped_lines;
    return false;
  }

  // The next raw document of the corpus, before the cap; false at the end.
  bool next_raw(std::string& document) {
    for (;;) {
      if (!file && !open_next_file()) return false;
      try {
        if (kind == FileKind::txt) {
          if (line != 0) {  // a .txt is one document
            file.reset();
            continue;
          }
          document = read_all();
          if (!is_valid_utf8(document)) {
            document = repair_utf8(document);
            ++stats.repaired;
            log::warn("{}: invalid UTF-8 replaced by U+FFFD", path.string());
          }
          return true;
        }
        std::string_view json;
        if (!next_line(json)) {
          file.reset();
          continue;
        }
        if (json.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
        if (parse_jsonl(json, document)) return true;
      } catch (const Error& e) {
        bad_file(e.what());
      }
    }
  }
};

CorpusReader::CorpusReader(const std::vector<fs::path>& paths, CorpusOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  for (const fs::path& path : paths) {
    for (fs::path& file : list_corpus_files(path)) impl_->files.push_back(std::move(file));
  }
}

CorpusReader::CorpusReader(const fs::path& path, CorpusOptions options)
    : CorpusReader(std::vector<fs::path>{path}, std::move(options)) {}

CorpusReader::~CorpusReader() = default;

bool CorpusReader::next(std::string& document) {
  Impl& d = *impl_;
  if (d.finished || !d.next_raw(document)) return false;
  uint64_t chars = utf8_length(document);
  if (d.options.doc_cap != 0 && chars > d.options.doc_cap) {
    document.resize(utf8_prefix_bytes(document, d.options.doc_cap));
    chars = d.options.doc_cap;
    ++d.stats.capped;
  }
  ++d.stats.documents;
  d.stats.chars += chars;
  d.stats.bytes += document.size();
  // As nanochat's tok_train: the document that crosses the limit is still returned.
  if (d.options.max_chars != 0 && d.stats.chars > d.options.max_chars) d.finished = true;
  return true;
}

const CorpusStats& CorpusReader::stats() const { return impl_->stats; }

}  // namespace nanochat
