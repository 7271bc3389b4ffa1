// The plugin entry of the byte-level BPE tokenizer: kind `tokenizer`, name `bpe`.
#include "bpe_tokenizer.hpp"
#include "nanochat/plugin.hpp"

NANOCHAT_PLUGIN(NANOCHAT_KIND_TOKENIZER, nanochat::Tokenizer, nanochat::bpe::BpeTokenizer, "bpe", "1.0.0",
                "byte-level BPE: trains like rustbpe, encodes like tiktoken, GPT-4 split pattern")
