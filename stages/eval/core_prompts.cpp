// Few-shot picks, prompts and token spans of CORE items (see core_prompts.hpp).
#include "core_prompts.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nanochat/error.hpp"
#include "nanochat/python_random.hpp"
#include "nanochat/utf8.hpp"

namespace nanochat::eval {

std::vector<size_t> core_fewshot_indices(size_t index, size_t count, int shots) {
  if (shots <= 0) return {};
  if (count < static_cast<size_t>(shots) + 1) {
    throw UsageError(fmt::format("{}-shot prompts need at least {} items per task, {} are kept: raise --max-problems",
                                 shots, shots + 1, count));
  }
  // sample() draws positions in the list of the other items; position p is item p, or p + 1
  // from the item itself on.
  std::vector<size_t> picks = PythonRandom(1234 + index).sample_indices(count - 1, static_cast<size_t>(shots));
  for (size_t& p : picks) p += p >= index ? 1 : 0;
  return picks;
}

namespace {

// CPython's _PyUnicode_IsWhitespace: general category Zs, or bidirectional class WS, B or S.
bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

std::string python_strip(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t begin = 0;
  while (begin < text.size()) {
    const DecodedChar c = decode_utf8(bytes + begin, text.size() - begin);
    if (!is_python_space(c.codepoint)) break;
    begin += c.length;
  }
  // From the front, remember where the last non-space character ends.
  size_t end = begin;
  for (size_t at = begin; at < text.size();) {
    const DecodedChar c = decode_utf8(bytes + at, text.size() - at);
    at += c.length;
    if (!is_python_space(c.codepoint)) end = at;
  }
  return std::string(text.substr(begin, end - begin));
}

std::vector<std::string> render_core_prompts(const CoreTaskSpec& spec, const CoreItem& item,
                                             const std::vector<const CoreItem*>& fewshot) {
  const std::string delimiter = spec.delimiter;
  std::string shots;
  for (const CoreItem* example : fewshot) {
    switch (spec.type) {
      case CoreTaskType::multiple_choice:
        shots += example->context + delimiter + example->options.at(example->gold);
        break;
      case CoreTaskType::schema:
        shots += example->options.at(example->gold) + delimiter + example->continuation;
        break;
      case CoreTaskType::language_modeling:
        shots += python_strip(example->context) + delimiter + example->continuation;
        break;
    }
    shots += "\n\n";
  }
  std::vector<std::string> prompts;
  switch (spec.type) {
    case CoreTaskType::multiple_choice:
      for (const std::string& choice : item.options) prompts.push_back(shots + item.context + delimiter + choice);
      break;
    case CoreTaskType::schema:
      for (const std::string& context : item.options) prompts.push_back(shots + context + delimiter + item.continuation);
      break;
    case CoreTaskType::language_modeling: {
      const std::string without = shots + python_strip(item.context) + delimiter;
      prompts.push_back(python_strip(without));
      prompts.push_back(without + item.continuation);
      break;
    }
  }
  return prompts;
}

size_t common_length(const std::vector<std::vector<TokenId>>& sequences, bool from_end) {
  if (sequences.empty()) return 0;
  size_t shortest = sequences[0].size();
  for (const auto& s : sequences) shortest = std::min(shortest, s.size());
  for (size_t i = 0; i < shortest; ++i) {
    auto at = [&](const std::vector<TokenId>& s) { return from_end ? s[s.size() - 1 - i] : s[i]; };
    const TokenId token = at(sequences[0]);
    for (const auto& s : sequences) {
      if (at(s) != token) return i;
    }
  }
  return shortest;
}

CoreSequences core_sequences(CoreTaskType type, std::vector<std::vector<TokenId>> tokens) {
  CoreSequences out;
  switch (type) {
    case CoreTaskType::multiple_choice: {
      const size_t start = common_length(tokens, false);
      for (const auto& t : tokens) {
        out.start.push_back(start);
        out.end.push_back(t.size());
      }
      break;
    }
    case CoreTaskType::schema: {
      const size_t suffix = common_length(tokens, true);
      for (const auto& t : tokens) {
        // Identical options would leave nothing before the suffix but BOS: score after it.
        out.start.push_back(std::max<size_t>(1, t.size() - suffix));
        out.end.push_back(t.size());
      }
      break;
    }
    case CoreTaskType::language_modeling: {
      if (tokens.size() != 2) throw Error("a language-modelling item renders two prompts");
      const auto& without = tokens[0];
      const auto& with = tokens[1];
      if (without.size() >= with.size() || !std::equal(without.begin(), without.end(), with.begin())) {
        throw Error("the prompt without its continuation does not tokenize to a prefix of the prompt with it");
      }
      out.start.push_back(without.size());
      out.end.push_back(with.size());
      tokens.erase(tokens.begin());
      break;
    }
  }
  out.tokens = std::move(tokens);
  return out;
}

void crop_core_sequences(CoreSequences& sequences, size_t max_tokens) {
  size_t longest = 0;
  for (const auto& tokens : sequences.tokens) longest = std::max(longest, tokens.size());
  if (longest <= max_tokens) return;
  const size_t crop = longest - max_tokens;
  for (size_t i = 0; i < sequences.tokens.size(); ++i) {
    if (sequences.start[i] < crop + 1) {
      throw Error(fmt::format("a continuation of {} tokens does not fit in the model's {} positions",
                              sequences.end[i] - sequences.start[i], max_tokens));
    }
    auto& tokens = sequences.tokens[i];
    tokens.erase(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(crop));
    sequences.start[i] -= crop;
    sequences.end[i] -= crop;
  }
}

CoreSequences prepare_core_item(const CoreTaskSpec& spec, const std::vector<CoreItem>& items, size_t index,
                                const Tokenizer& tokenizer) {
  std::vector<const CoreItem*> fewshot;
  for (size_t i : core_fewshot_indices(index, items.size(), spec.shots)) fewshot.push_back(&items[i]);
  const std::vector<std::string> prompts = render_core_prompts(spec, items[index], fewshot);
  return core_sequences(spec.type, tokenizer.encode_batch(prompts, false, tokenizer.special_id(special_tokens::bos), 1));
}

}  // namespace nanochat::eval
