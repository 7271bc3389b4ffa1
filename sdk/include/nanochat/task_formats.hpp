// What several task plugins share about examples: nanochat's multiple-choice rendering
// (tasks/common.py render_mc) and letter scoring, the "#### N" final answer of GSM8K and
// SpellingBee, the check that a conversation alternates user/assistant, the 5% held out
// as `test`, and the error for an unknown split.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nanochat/task.hpp"

namespace nanochat {

// "Multiple Choice question: {question}\n", then "- {choice}={letter}\n" per choice, then
// "\nRespond only with the letter of the correct answer." (the letter after the choice and
// no space before it: small models bind "A" better so, nanochat's notes say).
std::string render_multiple_choice(std::string_view question, const std::vector<std::string>& letters,
                                   const std::vector<std::string>& choices);

// The user question rendered as above and the assistant's `answer` letter.
TaskExample multiple_choice_example(std::string_view question, std::vector<std::string> letters,
                                    const std::vector<std::string>& choices, const std::string& answer);

// 1 when the completion is exactly the example's answer letter (nanochat compares the
// letter the model picked with the assistant's message).
double evaluate_letter(const TaskExample& example, const std::string& completion);

// The number after the first "#### " (Python: re.search(r"#### (\-?[0-9\.\,]+)")), commas
// removed; nothing when there is none.
std::optional<std::string> extract_final_answer(std::string_view text);

// 1 when the completion's final answer equals the one in the text of the example's last
// assistant part (GSM8K, SpellingBee).
double evaluate_final_answer(const TaskExample& example, const std::string& completion);

// The text of the last part of the last message (where the final answer is).
const std::string& last_part_text(const TaskExample& example);

// A conversation of one user turn and one assistant text turn.
Conversation user_assistant(std::string user, std::string assistant);

// Throws Error unless the conversation is an optional system message, then user, assistant,
// user, ... (at least one of each; nanochat's CustomJSON rules, which also let it end on a
// user turn) with plain-text system and user messages. The message names the first wrong
// message by its index.
void check_chat_roles(const Conversation& conversation);

// How many of n examples a task without splits holds out as `test`: the last 5%, rounded
// up, keeping at least one for `train` (0 when n < 2).
size_t held_out_count(size_t n);

// UsageError: "task NAME has no split 'S' (splits: a, b)".
[[noreturn]] void throw_unknown_split(const std::string& task, const std::string& split,
                                      const std::vector<std::string>& known);
// UsageError when index >= size.
void check_example_index(const std::string& task, const std::string& split, size_t index, size_t size);

}  // namespace nanochat
