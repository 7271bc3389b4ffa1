// Open-addressing hash maps for the BPE hot loops: chunk counting, pair statistics, rank
// look-ups and the chunk cache. std::unordered_map allocates a node per entry and chases a
// pointer per probe; these keep slots in one array (linear probing, power-of-two size,
// load <= 1/2) and, for byte-string keys, the key bytes in one arena.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nanochat::bpe {

inline uint64_t mix64(uint64_t a, uint64_t b) {
  const __uint128_t product = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t hash_u64(uint64_t key) { return mix64(key ^ 0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull); }

inline uint64_t hash_bytes(std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = mix64(h ^ word, 0xBF58476D1CE4E5B9ull);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  for (size_t i = 0; i < n; ++i) tail |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return mix64(h ^ tail, 0x94D049BB133111EBull);
}

// Chunks are mostly a few bytes long: a plain loop beats a call to memcmp there.
inline bool bytes_equal(const char* a, const char* b, size_t n) {
  if (n > 16) return std::memcmp(a, b, n) == 0;
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// uint64 keys; the all-ones key is reserved to mark an empty slot.
template <class Value>
class U64Map {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  explicit U64Map(size_t expected = 16) { rehash(capacity_for(expected)); }

  size_t size() const { return size_; }

  Value* find(uint64_t key) {
    for (size_t i = hash_u64(key) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }
  const Value* find(uint64_t key) const { return const_cast<U64Map*>(this)->find(key); }

  // The value of `key`, value-initialized when new.
  Value& operator[](uint64_t key) {
    size_t i = hash_u64(key) & mask_;
    for (;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == kEmpty) break;
    }
    if (2 * (size_ + 1) > keys_.size()) {
      rehash(keys_.size() * 2);
      return (*this)[key];
    }
    keys_[i] = key;
    values_[i] = Value{};
    ++size_;
    return values_[i];
  }

  template <class F>
  void for_each(F&& visit) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != kEmpty) visit(keys_[i], values_[i]);
    }
  }

 private:
  static size_t capacity_for(size_t n) {
    size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    return capacity;
  }

  void rehash(size_t capacity) {
    std::vector<uint64_t> old_keys(capacity, kEmpty);
    std::vector<Value> old_values(capacity);
    old_keys.swap(keys_);
    old_values.swap(values_);
    mask_ = capacity - 1;
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == kEmpty) continue;
      size_t i = hash_u64(old_keys[j]) & mask_;
      while (keys_[i] != kEmpty) i = (i + 1) & mask_;
      keys_[i] = old_keys[j];
      values_[i] = std::move(old_values[j]);
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Byte-string keys, copied into an arena on insertion.
template <class Value>
class BytesMap {
 public:
  explicit BytesMap(size_t expected = 16) { rehash(capacity_for(expected)); }

  size_t size() const { return size_; }

  void clear() {
    arena_.clear();
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
  }

  Value* find(std::string_view key) const { return find(key, hash_bytes(key)); }
  Value* find(std::string_view key, uint64_t hash) const {
    const uint64_t tag = tag_of(hash);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.tag == 0) return nullptr;
      if (slot.tag == tag && slot.length == key.size() &&
          bytes_equal(arena_.data() + slot.offset, key.data(), key.size())) {
        return const_cast<Value*>(&slot.value);
      }
    }
  }

  // The value of `key`, value-initialized when new.
  Value& operator[](std::string_view key) { return get(key, hash_bytes(key)); }
  Value& get(std::string_view key, uint64_t hash) {
    const uint64_t tag = tag_of(hash);
    size_t i = tag & mask_;
    for (;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.tag == 0) break;
      if (slot.tag == tag && slot.length == key.size() &&
          bytes_equal(arena_.data() + slot.offset, key.data(), key.size())) {
        return slot.value;
      }
    }
    if (2 * (size_ + 1) > slots_.size()) {
      rehash(slots_.size() * 2);
      return get(key, hash);
    }
    Slot& slot = slots_[i];
    slot.tag = tag;
    slot.offset = static_cast<uint32_t>(arena_.size());
    slot.length = static_cast<uint32_t>(key.size());
    slot.value = Value{};
    arena_.append(key);
    ++size_;
    return slot.value;
  }

  template <class F>
  void for_each(F&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.tag != 0) visit(std::string_view(arena_.data() + slot.offset, slot.length), slot.value);
    }
  }

 private:
  // The full hash, kept so probes and rehashes rarely touch the arena; 0 marks an empty slot.
  struct Slot {
    uint64_t tag = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    Value value{};
  };

  static uint64_t tag_of(uint64_t hash) { return hash == 0 ? 1 : hash; }

  static size_t capacity_for(size_t n) {
    size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    return capacity;
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    for (Slot& slot : old) {
      if (slot.tag == 0) continue;
      size_t i = slot.tag & mask_;
      while (slots_[i].tag != 0) i = (i + 1) & mask_;
      slots_[i] = std::move(slot);
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace nanochat::bpe
