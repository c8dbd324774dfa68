#!/usr/bin/env bash
# Installs the system packages scimgate's tests and demo need (OpenLDAP's slapd and
# ldap-utils) when they are missing. Safe to run repeatedly; needs root or sudo to install.
set -euo pipefail

need=()
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapmodify >/dev/null 2>&1 || need+=(ldap-utils)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package starts its own slapd on the default port; scimgate runs private instances
# and does not need it.
if command -v service >/dev/null 2>&1; then $sudo service slapd stop >/dev/null 2>&1 || true; fi
