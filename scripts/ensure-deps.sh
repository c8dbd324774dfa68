#!/usr/bin/env bash
# Installs the system packages scimgate's tests and demo need (OpenLDAP's slapd and
# ldap-utils) when they are missing. Safe to run repeatedly; needs root or sudo to install.
#
# The tests and `make run` start private slapd instances (package ldapbackend/slapd) from
# generated configurations; the Debian package's own service and database are not used, so
# the install keeps that service from starting.
set -euo pipefail

# What ldapbackend/slapd runs and loads: programs, modules, schemas.
have_all() {
	local f
	for f in /usr/sbin/slapd /usr/sbin/slapadd \
		/usr/lib/ldap/back_mdb.so /usr/lib/ldap/memberof.so /usr/lib/ldap/refint.so \
		/usr/lib/ldap/sssvlv.so /usr/lib/ldap/syncprov.so /usr/lib/ldap/accesslog.so \
		/etc/ldap/schema/core.schema /etc/ldap/schema/cosine.schema \
		/etc/ldap/schema/inetorgperson.schema /etc/ldap/schema/nis.schema; do
		[ -e "$f" ] || return 1
	done
	command -v ldapmodify >/dev/null 2>&1
}

have_all && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: slapd/ldap-utils missing and no apt-get here; install OpenLDAP 2.5+ (slapd, slapadd, ldapmodify) by hand" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# Keep the package from starting its own slapd on port 389 while it installs (Debian's
# policy-rc.d convention), unless the machine already has a policy of its own.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

echo "ensure-deps: installing slapd ldap-utils (Debian packages)" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null
# In case a policy of the machine let the service start anyway.
if command -v service >/dev/null 2>&1; then $sudo service slapd stop >/dev/null 2>&1 || true; fi

if ! have_all; then
	echo "ensure-deps: slapd installed but some of its programs, modules or schemas are missing" >&2
	exit 1
fi
