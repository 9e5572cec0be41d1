#include "baton/server/web_assets.h"

#include <fstream>
#include <sstream>

namespace baton::server {

std::optional<std::string> WebAssets::Find(std::string_view name) const {
  if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos ||
      name.find('\\') != std::string_view::npos) {
    return std::nullopt;
  }
  if (dir_.empty()) {
    for (const WebAsset& a : EmbeddedWebAssets()) {
      if (a.name == name) return std::string(a.data);
    }
    return std::nullopt;
  }
  std::ifstream in(dir_ + "/" + std::string(name), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string_view WebAssets::ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace baton::server
