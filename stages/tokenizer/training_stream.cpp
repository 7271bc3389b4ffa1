// TrainingStream (see training_stream.hpp): documents pass through a queue of eval_docs
// per corpus; whatever is still queued when the corpus ends is its held-out set.
#include "training_stream.hpp"

#include <utility>

#include "nanochat/utf8.hpp"

namespace nanochat::tokenizer_stage {

TrainingStream::TrainingStream(std::vector<std::filesystem::path> corpora, CorpusOptions reader_options,
                               uint64_t max_chars, size_t eval_docs)
    : reader_options_(std::move(reader_options)), max_chars_(max_chars), eval_docs_(eval_docs) {
  reader_options_.max_chars = 0;
  for (auto& path : corpora) {
    list_corpus_files(path);  // fail now, before training starts, on a bad path
    parts_.push_back({std::move(path), 0, 0, {}});
  }
}

bool TrainingStream::open(size_t index) {
  if (index >= parts_.size()) return false;
  reader_ = std::make_unique<CorpusReader>(parts_[index].path, reader_options_);
  ring_.clear();
  return true;
}

void TrainingStream::close_current() {
  if (!reader_) return;
  parts_[current_].held_out = std::move(ring_);
  ring_.clear();
  const CorpusStats& stats = reader_->stats();
  totals_.files += stats.files;
  totals_.capped += stats.capped;
  totals_.skipped_lines += stats.skipped_lines;
  totals_.skipped_files += stats.skipped_files;
  totals_.repaired += stats.repaired;
  reader_.reset();
}

void TrainingStream::fill_held_out(size_t index) {
  if (!reader_ && !open(index)) return;
  std::string document;
  while (ring_.size() < eval_docs_ && reader_->next(document)) ring_.push_back(std::move(document));
  close_current();
}

bool TrainingStream::next(std::string& document) {
  const bool budget_left = max_chars_ == 0 || train_chars_ <= max_chars_;
  while (budget_left && current_ < parts_.size()) {
    if (!reader_ && !open(current_)) break;
    std::string incoming;
    if (!reader_->next(incoming)) {
      close_current();
      ++current_;
      continue;
    }
    ring_.push_back(std::move(incoming));
    if (ring_.size() <= eval_docs_) continue;
    // Oldest first: ring_ is small (eval_docs), so erasing its front is cheap.
    document = std::move(ring_.front());
    ring_.erase(ring_.begin());
    CorpusPart& part = parts_[current_];
    const uint64_t chars = utf8_length(document);
    ++part.train_documents;
    part.train_chars += chars;
    train_chars_ += chars;
    ++totals_.documents;
    totals_.chars += chars;
    totals_.bytes += document.size();
    return true;
  }
  // Out of budget or of text: the corpora not fully read still owe their held-out sets.
  for (; current_ < parts_.size(); ++current_) fill_held_out(current_);
  return false;
}

}  // namespace nanochat::tokenizer_stage
