// One HTTP(S) GET streamed into a callback, redirects followed: how the download stage
// fetches a shard. cpp-httplib underneath; Debian's build has OpenSSL, so https:// works and
// the server's certificate is checked against the system's CA certificates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace nanochat::download {

struct Url {
  std::string origin;  // "https://host[:port]"
  std::string host;    // "host"
  std::string path;    // "/a/b?q=1", sent as given (already percent-encoded)
};

// Throws UsageError for anything but http(s)://host[:port][/path].
Url parse_url(const std::string& text);

enum class FetchStatus {
  ok,           // the whole body arrived (its Content-Length, when the server sent one)
  unreachable,  // no connection to the host (refused, unknown name, timed out)
  retryable,    // broke midway, or the server says try later (408, 429, 5xx)
  fatal,        // retrying cannot help (404, bad redirect, a certificate that fails, disk)
};

struct FetchResult {
  FetchStatus status = FetchStatus::ok;
  std::string message;  // what went wrong, one line naming the URL or host
  uint64_t bytes = 0;   // body bytes handed to the callback
};

struct FetchSettings {
  double timeout_seconds = 30;  // to connect, and between two reads
  int max_redirects = 5;
};

// GETs `url`, handing the body to `write` as it arrives; an exception from `write` ends the
// fetch as fatal with its message.
FetchResult http_fetch(const std::string& url, const FetchSettings& settings,
                       const std::function<void(const char* data, size_t size)>& write);

}  // namespace nanochat::download
