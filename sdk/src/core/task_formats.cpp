// Shared pieces of task examples (see nanochat/task_formats.hpp).
#include "nanochat/task_formats.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "nanochat/error.hpp"

namespace nanochat {

std::string render_multiple_choice(std::string_view question, const std::vector<std::string>& letters,
                                   const std::vector<std::string>& choices) {
  if (letters.size() != choices.size()) {
    throw Error(fmt::format("{} answer letters for {} choices", letters.size(), choices.size()));
  }
  std::string query = fmt::format("Multiple Choice question: {}\n", question);
  for (size_t i = 0; i < choices.size(); ++i) query += fmt::format("- {}={}\n", choices[i], letters[i]);
  query += "\nRespond only with the letter of the correct answer.";
  return query;
}

TaskExample multiple_choice_example(std::string_view question, std::vector<std::string> letters,
                                    const std::vector<std::string>& choices, const std::string& answer) {
  if (std::find(letters.begin(), letters.end(), answer) == letters.end()) {
    std::string known;
    for (const auto& letter : letters) known += (known.empty() ? "" : ", ") + letter;
    throw Error(fmt::format("the answer '{}' is not one of the choices' letters ({})", answer, known));
  }
  TaskExample example;
  example.conversation = user_assistant(render_multiple_choice(question, letters, choices), answer);
  example.letters = std::move(letters);
  return example;
}

const std::string& last_part_text(const TaskExample& example) {
  const auto& messages = example.conversation.messages;
  if (messages.empty() || messages.back().role != "assistant" || messages.back().parts.empty()) {
    throw Error("the example does not end with an assistant message");
  }
  return messages.back().parts.back().text;
}

double evaluate_letter(const TaskExample& example, const std::string& completion) {
  return completion == last_part_text(example) ? 1.0 : 0.0;
}

std::optional<std::string> extract_final_answer(std::string_view text) {
  static constexpr std::string_view kMarker = "#### ";
  auto is_number_char = [](char c) { return (c >= '0' && c <= '9') || c == '.' || c == ','; };
  for (size_t at = text.find(kMarker); at != std::string_view::npos; at = text.find(kMarker, at + 1)) {
    size_t begin = at + kMarker.size(), end = begin;
    if (end < text.size() && text[end] == '-') ++end;
    const size_t digits = end;
    while (end < text.size() && is_number_char(text[end])) ++end;
    if (end == digits) continue;  // no number here: the regex searches on
    std::string number;
    for (size_t i = begin; i < end; ++i) {
      if (text[i] != ',') number += text[i];
    }
    return number;
  }
  return std::nullopt;
}

double evaluate_final_answer(const TaskExample& example, const std::string& completion) {
  // nanochat compares the two extractions, so two missing answers would agree; a reference
  // always has one.
  return extract_final_answer(completion) == extract_final_answer(last_part_text(example)) ? 1.0 : 0.0;
}

Conversation user_assistant(std::string user, std::string assistant) {
  Conversation conversation;
  conversation.messages.push_back({"user", {{MessagePart::Type::text, std::move(user)}}});
  conversation.messages.push_back({"assistant", {{MessagePart::Type::text, std::move(assistant)}}});
  return conversation;
}

void check_chat_roles(const Conversation& conversation) {
  const auto& messages = conversation.messages;
  const size_t first = !messages.empty() && messages[0].role == "system" ? 1 : 0;
  if (messages.size() < first + 2) {
    throw Error(fmt::format("a conversation needs a user and an assistant message, this one has {} message(s)",
                            messages.size()));
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& message = messages[i];
    const char* expected = i < first ? "system" : (i - first) % 2 == 0 ? "user" : "assistant";
    if (message.role != expected) {
      throw Error(fmt::format("message {} is from '{}' but should be from '{}' (roles must alternate user, "
                              "assistant, ...)",
                              i, message.role, expected));
    }
    if (message.role != "assistant" &&
        (message.parts.size() != 1 || message.parts[0].type != MessagePart::Type::text)) {
      throw Error(fmt::format("message {} ({}) must be plain text", i, message.role));
    }
  }
}

size_t held_out_count(size_t n) {
  if (n < 2) return 0;
  return std::min((n + 19) / 20, n - 1);
}

void throw_unknown_split(const std::string& task, const std::string& split, const std::vector<std::string>& known) {
  std::string list;
  for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
  throw UsageError(fmt::format("task {} has no split '{}' (splits: {})", task, split, list));
}

void check_example_index(const std::string& task, const std::string& split, size_t index, size_t size) {
  if (index >= size) {
    throw UsageError(fmt::format("task {} split {} has {} examples; index {} is past the end", task, split, size, index));
  }
}

}  // namespace nanochat
