// HTTP(S) GET into a callback (see http_fetch.hpp). Redirects are followed here rather than
// by cpp-httplib, which decodes and re-encodes the URL it is sent to: that would corrupt the
// signed, percent-encoded query strings of the CDN URLs Hugging Face redirects to.
#include "http_fetch.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <regex>
#include <tuple>

#include "nanochat/error.hpp"

namespace nanochat::download {
namespace {

bool is_redirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

bool is_certificate_error(httplib::Error error) {
  return error == httplib::Error::SSLLoadingCerts || error == httplib::Error::SSLServerVerification;
}

// cpp-httplib before 0.12.2 (Debian 12 has 0.11.4) percent-decodes every response header, the
// Location included (fixed upstream in pull request #1459).
bool headers_arrive_decoded() {
  int major = 0, minor = 0, patch = 0;
  std::sscanf(CPPHTTPLIB_VERSION, "%d.%d.%d", &major, &minor, &patch);
  return std::make_tuple(major, minor, patch) < std::make_tuple(0, 12, 2);
}

// The Location as the server sent it, as far as that can be known: a decoded one gets back
// the escapes of every byte that cannot stand raw in a URL. An escaped '+', '&' or '=' cannot
// be told from a raw one and stays lost (a signed URL holding one would be refused); the
// escapes such URLs usually carry ('/', ';', quotes, spaces, '%') come back right.
std::string location_as_sent(const std::string& header) {
  if (!headers_arrive_decoded()) return header;
  static const std::string kMustEscape = "\"%<>\\^`{|}# ";
  std::string url;
  for (const char c : header) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || kMustEscape.find(c) != std::string::npos) {
      url += fmt::format("%{:02X}", byte);
    } else {
      url += c;
    }
  }
  return url;
}

// Where a Location header points, seen from `from`.
std::optional<std::string> redirect_target(const Url& from, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (location.rfind("//", 0) == 0) return from.origin.substr(0, from.origin.find(':') + 1) + location;
  if (location.rfind('/', 0) == 0) return from.origin + location;
  return std::nullopt;
}

// The URL for messages: without the query, which on a CDN is a long signature.
std::string shown(const Url& url) { return url.origin + url.path.substr(0, url.path.find('?')); }

void set_timeouts(httplib::Client& client, double seconds) {
  const auto whole = static_cast<time_t>(seconds);
  const auto micros = static_cast<time_t>(std::lround((seconds - static_cast<double>(whole)) * 1e6));
  client.set_connection_timeout(whole, micros);
  client.set_read_timeout(whole, micros);
}

// Why no connection could be made; cpp-httplib says only "Connection".
std::string connection_failure(const Url& url, httplib::Error error) {
  if (error == httplib::Error::ConnectionTimeout) return "timed out connecting";
  addrinfo* found = nullptr;
  const std::string host = url.host.front() == '[' ? url.host.substr(1, url.host.size() - 2) : url.host;
  if (::getaddrinfo(host.c_str(), nullptr, nullptr, &found) != 0) return "cannot resolve " + host;
  ::freeaddrinfo(found);
  return "connection refused or no route to the host";
}

// What a request that got no usable response means.
FetchResult transport_failure(const Url& url, httplib::Error error, bool body_started, uint64_t bytes) {
  const std::string why = httplib::to_string(error);
  if (error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout) {
    return {FetchStatus::unreachable, fmt::format("cannot reach {}: {}", url.origin, connection_failure(url, error)),
            bytes};
  }
  if (is_certificate_error(error)) {
    return {FetchStatus::fatal,
            fmt::format("TLS with {} failed ({} error); if the certificate is valid, are the CA certificates "
                        "installed? (Debian: ca-certificates)",
                        url.origin, why),
            bytes};
  }
  if (body_started) {
    return {FetchStatus::retryable,
            fmt::format("{}: the connection broke after {} bytes ({} error)", shown(url), bytes, why), bytes};
  }
  return {FetchStatus::retryable, fmt::format("{}: no response ({} error)", shown(url), why), bytes};
}

}  // namespace

Url parse_url(const std::string& text) {
  static const std::regex url(R"((https?)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?].*)?)");
  std::smatch match;
  if (!std::regex_match(text, match, url)) {
    throw UsageError(fmt::format("'{}' is not an http:// or https:// URL (expected http(s)://host[:port][/path])", text));
  }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (match[1] == "https") {
    throw UsageError(fmt::format("'{}': this build's cpp-httplib has no OpenSSL, so only http:// works", text));
  }
#endif
  std::string path = match[4].str();
  if (path.empty() || path[0] == '?') path.insert(0, "/");
  return {match[1].str() + "://" + match[2].str() + match[3].str(), match[2].str(), path};
}

FetchResult http_fetch(const std::string& url_text, const FetchSettings& settings,
                       const std::function<void(const char* data, size_t size)>& write) {
  std::string current = url_text;
  for (int hop = 0; hop <= settings.max_redirects; ++hop) {
    Url url;
    try {
      url = parse_url(current);
    } catch (const UsageError& e) {
      return {FetchStatus::fatal, fmt::format("redirected to an unusable URL: {}", e.what()), 0};
    }
    httplib::Client client(url.origin);
    client.set_url_encode(false);
    client.set_decompress(false);
    client.set_follow_location(false);
    set_timeouts(client, settings.timeout_seconds);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    client.enable_server_certificate_verification(true);
#endif

    int status = 0;
    std::string location;
    std::optional<uint64_t> expected_bytes;
    uint64_t bytes = 0;
    std::string write_error;
    auto on_response = [&](const httplib::Response& response) {
      status = response.status;
      location = location_as_sent(response.get_header_value("Location"));
      if (response.has_header("Content-Length")) {
        try {
          expected_bytes = std::stoull(response.get_header_value("Content-Length"));
        } catch (const std::exception&) {
        }
      }
      return status == 200;  // any other body is not the file
    };
    auto on_data = [&](const char* data, size_t size) {
      try {
        write(data, size);
      } catch (const std::exception& e) {
        write_error = e.what();
        return false;
      }
      bytes += size;
      return true;
    };
    const httplib::Result result =
        client.Get(url.path, httplib::Headers{{"Accept-Encoding", "identity"}}, on_response, on_data);

    if (!write_error.empty()) return {FetchStatus::fatal, write_error, bytes};
    if (status == 200) {
      if (!result) return transport_failure(url, result.error(), true, bytes);
      if (expected_bytes && bytes != *expected_bytes) {
        return {FetchStatus::retryable, fmt::format("{}: got {} of {} bytes", shown(url), bytes, *expected_bytes), bytes};
      }
      return {FetchStatus::ok, "", bytes};
    }
    if (status == 0) return transport_failure(url, result.error(), false, bytes);
    if (is_redirect(status)) {
      const std::optional<std::string> next = redirect_target(url, location);
      if (!next) return {FetchStatus::fatal, fmt::format("{}: HTTP {} to '{}', which is not followed", shown(url), status, location), 0};
      current = *next;
      continue;
    }
    const FetchStatus kind = status == 408 || status == 429 || status >= 500 ? FetchStatus::retryable : FetchStatus::fatal;
    return {kind, fmt::format("{}: HTTP {}", shown(url), status), 0};
  }
  return {FetchStatus::fatal, fmt::format("{}: more than {} redirects", url_text, settings.max_redirects), 0};
}

}  // namespace nanochat::download
