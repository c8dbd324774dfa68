#!/usr/bin/env bash
# Installs the system packages scimgate's tests and demo need when they are missing:
# OpenLDAP's slapd and ldap-utils, and, unless the argument is "slapd" (what `make run`
# passes: the demo runs OpenLDAP only), 389 Directory Server's 389-ds-base. Safe to run
# repeatedly; root or sudo is needed only to install (apt-get), never to run.
#
# The tests and `make run` start private slapd instances (package ldapbackend/slapd) and
# private ns-slapd instances (package ldapbackend/dirsrv) from generated configurations; the
# Debian packages' own services and databases are not used, so the install keeps those
# services from starting and stops any 389 instance the package left running.
set -euo pipefail

only="${1:-all}"
case "$only" in
all | slapd) ;;
*)
	echo "usage: ensure-deps.sh [all|slapd]" >&2
	exit 2
	;;
esac

# What ldapbackend/slapd runs and loads: programs, modules (ppolicy and argon2 hash the
# passwords clients write; Debian's slapd package ships both), schemas.
have_slapd() {
	local f
	for f in /usr/sbin/slapd /usr/sbin/slapadd \
		/usr/lib/ldap/back_mdb.so /usr/lib/ldap/memberof.so /usr/lib/ldap/refint.so \
		/usr/lib/ldap/sssvlv.so /usr/lib/ldap/syncprov.so /usr/lib/ldap/accesslog.so \
		/usr/lib/ldap/ppolicy.so /usr/lib/ldap/argon2.so \
		/etc/ldap/schema/core.schema /etc/ldap/schema/cosine.schema \
		/etc/ldap/schema/inetorgperson.schema /etc/ldap/schema/nis.schema; do
		[ -e "$f" ] || return 1
	done
	command -v ldapmodify >/dev/null 2>&1 || return 1
}

# What ldapbackend/dirsrv runs and reads.
have_389() {
	local f
	for f in /usr/sbin/ns-slapd /usr/share/dirsrv/data/template-dse.ldif \
		/etc/dirsrv/config/slapd-collations.conf /etc/dirsrv/config/certmap.conf \
		/usr/lib/*/dirsrv/plugins/libentryuuid-plugin.so; do
		[ -e "$f" ] || return 1
	done
}

# stop_389_instances stops every instance the 389 packages may have set up and started
# (Debian creates none by itself; a machine's own is left alone if not running).
stop_389_instances() {
	local d inst
	for d in /etc/dirsrv/slapd-*; do
		[ -d "$d" ] || continue
		inst=${d#/etc/dirsrv/slapd-}
		if command -v dsctl >/dev/null 2>&1 && dsctl "$inst" status >/dev/null 2>&1; then
			$sudo dsctl "$inst" stop >/dev/null 2>&1 || true
		fi
		if command -v systemctl >/dev/null 2>&1; then
			$sudo systemctl stop "dirsrv@$inst" >/dev/null 2>&1 || true
		fi
	done
}

# have_needed reports whether everything asked for is there.
have_needed() {
	have_slapd || return 1
	[ "$only" = slapd ] || have_389
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

have_needed && exit 0

packages="slapd ldap-utils"
[ "$only" = slapd ] || packages="$packages 389-ds-base"

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: missing ($packages) and no apt-get here; install OpenLDAP 2.5+ (slapd, slapadd, ldapmodify, the ppolicy and argon2 modules) and, for the tests, 389 Directory Server 2.x (ns-slapd) by hand" >&2
	exit 1
fi

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

echo "ensure-deps: installing $packages (Debian packages; needs root or sudo)" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
# In case a policy of the machine let the service start anyway.
if command -v service >/dev/null 2>&1; then $sudo service slapd stop >/dev/null 2>&1 || true; fi
[ "$only" = slapd ] || stop_389_instances

if ! have_needed; then
	echo "ensure-deps: packages installed but some of the programs, modules, schemas or templates are missing" >&2
	exit 1
fi
