// Task `spellingbee`: nanochat's SpellingBee, "How many r are in strawberry?" answered by
// spelling the word out, counting by hand, checking with a python call ('word'.count('r'))
// and ending "#### N"; 51 question templates in seven languages, lowercased 30% of the time,
// letter and word quoted at random. Scored like GSM8K, on the number after "#### ".
#include <algorithm>

#include <fmt/format.h>

#include "nanochat/task_formats.hpp"
#include "nanochat/task_plugin.hpp"
#include "spelling_task.hpp"

namespace nanochat {
namespace {

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz";

// nanochat's USER_MSG_TEMPLATES, in its order (the draw picks by index).
const std::vector<std::string> kTemplates = {
    "How many {letter} are in the word {word}",
    "How many {letter} are in {word}",
    "Count the number of {letter} in {word}",
    "How many times does {letter} appear in {word}",
    "What's the count of {letter} in {word}",
    "In the word {word}, how many {letter} are there",
    "How many letter {letter} are in the word {word}",
    "Count how many {letter} appear in {word}",
    "Tell me the number of {letter} in {word}",
    "How many occurrences of {letter} are in {word}",
    "Find the count of {letter} in {word}",
    "Can you count the {letter} letters in {word}",
    "What is the frequency of {letter} in {word}",
    "How many {letter}s are in {word}",
    "How many {letter}'s are in {word}",
    "Count all the {letter} in {word}",
    "How many times is {letter} in {word}",
    "Number of {letter} in {word}",
    "Total count of {letter} in {word}",
    "How many {letter} does {word} have",
    "How many {letter} does {word} contain",
    "What's the number of {letter} in {word}",
    "{word} has how many {letter}",
    "In {word}, count the {letter}",
    "How many {letter} appear in {word}",
    "Count the {letter} in {word}",
    "Give me the count of {letter} in {word}",
    "How many instances of {letter} in {word}",
    "Show me how many {letter} are in {word}",
    "Calculate the number of {letter} in {word}",
    "¿Cuántas {letter} hay en {word}?",
    "¿Cuántas veces aparece {letter} en {word}?",
    "Cuenta las {letter} en {word}",
    "¿Cuántas letras {letter} tiene {word}?",
    "{word}中有多少个{letter}",
    "{word}里有几个{letter}",
    "数一下{word}中的{letter}",
    "{word}这个词里有多少{letter}",
    "{word}에 {letter}가 몇 개 있나요",
    "{word}에서 {letter}의 개수는",
    "{word}에 {letter}가 몇 번 나오나요",
    "{word}라는 단어에 {letter}가 몇 개",
    "Combien de {letter} dans {word}",
    "Combien de fois {letter} apparaît dans {word}",
    "Compte les {letter} dans {word}",
    "Wie viele {letter} sind in {word}",
    "Wie oft kommt {letter} in {word} vor",
    "Zähle die {letter} in {word}",
    "{word}に{letter}は何個ありますか",
    "{word}の中に{letter}がいくつ",
    "{word}に{letter}が何回出てくる",
};

const std::vector<std::string> kQuotes = {"", "'", "\""};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Python's str.lower() on these templates: their only cased letters are ASCII ones.
std::string ascii_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

class SpellingBeeTask final : public SpellingTask {
 public:
  std::string name() const override { return "spellingbee"; }
  double evaluate(const TaskExample& example, const std::string& completion) const override {
    return evaluate_final_answer(example, completion);
  }

 protected:
  void set_words(std::vector<std::string> words) override { words_ = std::move(words); }

  // Draws in exactly nanochat's order: word, letter (90% from the word), template, lowercase,
  // two quotes, question mark.
  TaskExample generate(PythonRandom& rng) const override {
    const std::string& word = rng.choice(words_);
    const char letter = rng.random() < 0.9 ? rng.choice(word) : rng.choice(kLetters);
    const size_t count = static_cast<size_t>(std::count(word.begin(), word.end(), letter));
    std::string question = rng.choice(kTemplates);
    if (rng.random() < 0.3) question = ascii_lower(question);
    const std::string& letter_quote = rng.choice(kQuotes);
    const std::string& word_quote = rng.choice(kQuotes);
    question = replace_all(question, "{letter}", letter_quote + letter + letter_quote);
    question = replace_all(question, "{word}", word_quote + word + word_quote);
    if (rng.random() < 0.5) question += "?";

    std::string manual = fmt::format(
        "We are asked to find the number '{0}' in the word '{1}'. Let me try a manual approach first.\n\n"
        "First spell the word out:\n{1}:{2}\n\nThen count the occurrences of '{0}':\n",
        letter, word, comma_spelled(word));
    size_t running = 0;
    for (size_t i = 0; i < word.size(); ++i) {
      // No space between the position and the letter: " a" and "a" are different tokens.
      if (word[i] == letter) {
        manual += fmt::format("{}:{} hit! count={}\n", i + 1, word[i], ++running);
      } else {
        manual += fmt::format("{}:{}\n", i + 1, word[i]);
      }
    }
    manual += fmt::format("\nThis gives us {}.", running);

    Message answer{"assistant", {}};
    answer.parts.push_back({MessagePart::Type::text, manual});
    answer.parts.push_back({MessagePart::Type::text, "\n\nLet me double check this using Python:\n\n"});
    answer.parts.push_back({MessagePart::Type::python, fmt::format("'{}'.count('{}')", word, letter)});
    answer.parts.push_back({MessagePart::Type::python_output, std::to_string(count)});
    answer.parts.push_back(
        {MessagePart::Type::text, fmt::format("\n\nPython gives us {0}.\n\nMy final answer is:\n\n#### {0}", count)});
    TaskExample example;
    example.conversation.messages.push_back({"user", {{MessagePart::Type::text, question}}});
    example.conversation.messages.push_back(std::move(answer));
    return example;
  }

 private:
  std::vector<std::string> words_;
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::SpellingBeeTask, "spellingbee")
