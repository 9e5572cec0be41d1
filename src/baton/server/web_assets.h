// The dashboard's static files (web/): compiled into the binary at build time by
// web/embed.cmake, or read from a directory given at run time (batond --web-dir).
//
// Thread-safety: EmbeddedWebAssets() is immutable after first use; WebAssets is
// read-only after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baton::server {

struct WebAsset {
  std::string_view name;  // base name: "index.html", "app.js"
  std::string_view data;
};

// Defined in the generated web_assets_data.cc (library baton_web_assets).
const std::vector<WebAsset>& EmbeddedWebAssets();

// Looks assets up by base name, from a directory or the embedded copy.
class WebAssets {
 public:
  // dir "" = the embedded assets.
  explicit WebAssets(std::string dir) : dir_(std::move(dir)) {}
  // The file's bytes, or nullopt if there is none. Names with '/' or starting with '.'
  // are never served.
  std::optional<std::string> Find(std::string_view name) const;
  // "text/html; charset=utf-8" etc. by extension.
  static std::string_view ContentType(std::string_view name);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace baton::server
