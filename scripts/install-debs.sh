# Sourced by setup.sh and fuzz.sh: install_missing_debs WHO PKG... installs the
# Debian packages that are not installed yet (apt-get update first), as root or
# through sudo; prints "WHO: installing ..." when it does anything.
install_missing_debs() {
  local who="$1" pkg missing=()
  shift
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "$who: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
