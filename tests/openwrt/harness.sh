#!/bin/sh
# SPDX-License-Identifier: MIT
# Sourced by tests/openwrt/run-case.sh: an OpenWrt look-alike for the init
# script, the library and the hotplug script, in POSIX sh (dash, busybox ash).
#
#   - /lib/functions.sh: config_load (reads a sample file from
#     tests/openwrt/configs/, in UCI syntax, the way uci_load evaluates
#     `uci export`), config_get, config_get_bool, config_foreach,
#     config_list_foreach, with the variables /lib/functions.sh keeps;
#   - procd_*, logger, uci (for the dhcp config: a one-section store),
#     /etc/init.d/dnsmasq and /etc/init.d/dns-tls-proxy: recorded;
#   - rc ACTION: what /etc/rc.common does for a procd service.
#
# Everything recorded goes to the transcript "$T", in call order; each procd
# command line also goes to "$T.argv.N", one argument a line, for --check.
# Expects: T, ROOT (repository), TESTDIR (tests/openwrt), BIN (the proxy).
# shellcheck shell=sh disable=SC3043
# T, ROOT, TESTDIR, BIN come from run-case.sh:
# shellcheck disable=SC2153

rec() { printf '%s\n' "$*" >>"$T"; }

# --- /lib/functions.sh ------------------------------------------------------
FAKE_VARS='' FAKE_CFGN=0
fake_set() { # NAME VALUE
	eval "$1=\$2"
	FAKE_VARS="$FAKE_VARS $1"
}
package() { :; }
config() {
	local name="$2"
	if [ -z "$name" ]; then
		FAKE_ANON=$((FAKE_ANON + 1))
		name="cfg$FAKE_ANON"
	fi
	CONFIG_SECTION="$name"
	CONFIG_SECTIONS="$CONFIG_SECTIONS $name"
	fake_set "CONFIG_${name}_TYPE" "$1"
}
option() {
	fake_set "CONFIG_${CONFIG_SECTION}_$1" "$2"
}
list() {
	local len
	eval "len=\${CONFIG_${CONFIG_SECTION}_$1_LENGTH:-0}"
	len=$((len + 1))
	fake_set "CONFIG_${CONFIG_SECTION}_$1_ITEM$len" "$2"
	fake_set "CONFIG_${CONFIG_SECTION}_$1_LENGTH" "$len"
	eval "fake_set CONFIG_${CONFIG_SECTION}_$1 \"\${CONFIG_${CONFIG_SECTION}_$1:+\$CONFIG_${CONFIG_SECTION}_$1 }\$2\""
}
config_load() {
	local v file
	for v in $FAKE_VARS; do unset "$v"; done
	FAKE_VARS='' CONFIG_SECTIONS='' CONFIG_SECTION='' FAKE_ANON=0
	eval "file=\${FAKE_CONFIG_$(echo "$1" | tr -c 'a-zA-Z0-9\n' _):-}"
	[ -n "$file" ] && [ -f "$file" ] || return 1
	# shellcheck source=/dev/null
	. "$file"
}
config_get() { # VAR SECTION OPTION [DEFAULT]
	eval "$1=\${CONFIG_$2_$3:-\$4}"
}
config_get_bool() {
	local _tmp
	config_get _tmp "$2" "$3" "$4"
	case "$_tmp" in
		1 | on | true | yes | enabled) _tmp=1 ;;
		0 | off | false | no | disabled) _tmp=0 ;;
		*) _tmp="$4" ;;
	esac
	eval "$1=\$_tmp"
}
config_foreach() { # FUNCTION [TYPE] [ARGS...]
	local fn="$1" type="$2" section t
	shift 2
	for section in $CONFIG_SECTIONS; do
		eval "t=\$CONFIG_${section}_TYPE"
		[ "$t" = "$type" ] || continue
		"$fn" "$section" "$@"
	done
}
config_list_foreach() { # SECTION OPTION FUNCTION [ARGS...]
	local section="$1" option="$2" fn="$3" len val c=1
	shift 3
	config_get len "$section" "${option}_LENGTH"
	[ -n "$len" ] || return 0
	while [ "$c" -le "$len" ]; do
		config_get val "$section" "${option}_ITEM$c"
		"$fn" "$val" "$@"
		c=$((c + 1))
	done
}
use_config() { # FILE: in tests/openwrt/configs/, or a path; @ROOT@ -> the repository
	local src
	case "$1" in
		/*) src="$1" ;;
		*) src="$TESTDIR/configs/$1" ;;
	esac
	[ -f "$src" ] || { rec "HARNESS: no config $1"; return 1; }
	FAKE_CFGN=$((FAKE_CFGN + 1))
	FAKE_CONFIG_dns_tls_proxy="$T.cfg.$FAKE_CFGN"
	sed "s|@ROOT@|$ROOT|g" "$src" >"$FAKE_CONFIG_dns_tls_proxy"
	rec ""
	rec "=== /etc/config/dns-tls-proxy is now ${1##*/}"
}

# --- procd ------------------------------------------------------------------
FAKE_INSTANCES=0
procd_open_instance() { rec "procd_open_instance${1:+ $1}"; }
procd_close_instance() { rec "procd_close_instance"; }
procd_set_param() {
	local type="$1" a argv
	shift
	rec "procd_set_param $type"
	if [ "$type" = command ]; then
		FAKE_INSTANCES=$((FAKE_INSTANCES + 1))
		argv="$T.argv.$FAKE_INSTANCES"
		: >"$argv"
		[ "$1" = "$DTP_PROG" ] && { shift; rec "  arg: /usr/sbin/dns-tls-proxy"; }
		for a in "$@"; do printf '%s\n' "$a" >>"$argv"; done
	fi
	for a in "$@"; do rec "  arg: $a"; done
}
procd_append_param() { rec "procd_append_param $*"; }
procd_add_reload_trigger() { rec "procd_add_reload_trigger $*"; }
procd_add_interface_trigger() { rec "procd_add_interface_trigger $*"; }
procd_kill() { rec "procd_kill $*"; }
# SERVICE INSTANCE SIGNAL: recorded by name, so a number (busybox ash gives
# one) and a name (dash) read the same.
procd_send_signal() {
	local sig="$3"
	case "$sig" in
		*[!0-9]*) ;;
		*) sig=$(kill -l "$sig") ;;
	esac
	rec "procd_send_signal $1 $2 $sig"
}
procd_running() { [ "${FAKE_RUNNING:-1}" = 1 ]; }

# --- logger, dnsmasq, the service itself ------------------------------------
logger() {
	local tag='' prio=user.notice
	while [ $# -gt 1 ]; do
		case "$1" in
			-t) tag="$2"; shift 2 ;;
			-p) prio="$2"; shift 2 ;;
			*) break ;;
		esac
	done
	rec "logger $tag $prio: $*"
}
# (the functions defined inside are called by the library)
# shellcheck disable=SC2317
harness_overrides() { # after (re)sourcing the library
	DTP_PROG="$BIN"
	dtp_dnsmasq_restart() { rec "/etc/init.d/dnsmasq restart"; }
	dtp_make_chroot() { rec "mkdir -p $1 (if missing)"; }
	dtp_initd() {
		rec "/etc/init.d/dns-tls-proxy $*"
		case "$1" in
			enabled) [ "${FAKE_ENABLED:-1}" = 1 ] ;;
			running) [ "${FAKE_RUNNING:-1}" = 1 ] ;;
			*) return 0 ;;
		esac
	}
}

# --- uci, for dhcp.@dnsmasq[0] only ----------------------------------------
# Options live in UCI_<option>; UCI_OPTS lists them in order of creation;
# list options are also named in UCI_LISTS. A value holds no spaces.
UCI_SECTION=0 UCI_OPTS='' UCI_LISTS=''
uci_key() { # dhcp.@dnsmasq[0].OPT -> OPT, or fail
	case "$1" in
		'dhcp.@dnsmasq[0].'*) echo "${1#dhcp.@dnsmasq\[0\].}" ;;
		*) return 1 ;;
	esac
}
uci_forget() {
	local o new=''
	for o in $UCI_OPTS; do [ "$o" = "$1" ] || new="$new $o"; done
	UCI_OPTS="$new"
	new=''
	for o in $UCI_LISTS; do [ "$o" = "$1" ] || new="$new $o"; done
	UCI_LISTS="$new"
	unset "UCI_$1"
}
uci() {
	# shellcheck disable=SC2034 # cur is used inside eval
	local cmd key opt val cur
	[ "$1" = -q ] && shift
	cmd="$1" key="$2"
	case "$cmd" in
		get)
			if [ "$key" = 'dhcp.@dnsmasq[0]' ]; then
				[ "$UCI_SECTION" = 1 ] && echo dnsmasq && return 0
				return 1
			fi
			opt=$(uci_key "$key") || return 1
			eval "val=\${UCI_$opt-}"
			case " $UCI_OPTS " in *" $opt "*) echo "$val"; return 0 ;; esac
			return 1
			;;
		set | add_list)
			rec "uci $cmd $key"
			opt=$(uci_key "${key%%=*}") || { rec "HARNESS: unexpected uci $*"; return 1; }
			val="${key#*=}"
			case " $UCI_OPTS " in *" $opt "*) ;; *) UCI_OPTS="$UCI_OPTS $opt" ;; esac
			if [ "$cmd" = set ]; then
				uci_forget "$opt"
				UCI_OPTS="$UCI_OPTS $opt"
				eval "UCI_$opt=\$val"
			else
				case " $UCI_LISTS " in *" $opt "*) ;; *) UCI_LISTS="$UCI_LISTS $opt" ;; esac
				eval "cur=\${UCI_$opt-}"
				eval "UCI_$opt=\"\${cur:+\$cur }\$val\""
			fi
			;;
		delete)
			opt=$(uci_key "$key") || { rec "HARNESS: unexpected uci $*"; return 1; }
			case " $UCI_OPTS " in
				*" $opt "*) rec "uci delete $key"; uci_forget "$opt" ;;
				*) rec "uci delete $key (not set)"; return 1 ;;
			esac
			;;
		commit) rec "uci commit $key" ;;
		*) rec "HARNESS: unexpected uci $*"; return 1 ;;
	esac
}
dhcp_init() { # OPT=VALUE ... (repeat OPT for a list); none: no dnsmasq section
	local a opt
	UCI_SECTION=1
	for a in "$@"; do
		opt="${a%%=*}"
		case "$opt" in
			server | *_server) uci add_list "dhcp.@dnsmasq[0].$a" ;;
			*) uci set "dhcp.@dnsmasq[0].$a" ;;
		esac
	done
	rec "(dhcp initialised)"
}
dhcp_show() {
	local o v
	rec "--- dhcp.@dnsmasq[0] now:"
	for o in $UCI_OPTS; do
		eval "v=\$UCI_$o"
		case " $UCI_LISTS " in
			*" $o "*) for v in $v; do rec "	list $o '$v'"; done ;;
			*) rec "	option $o '$v'" ;;
		esac
	done
}

# --- /etc/rc.common for a procd service --------------------------------------
start() {
	local rc=0
	rec "procd_open_service dns-tls-proxy"
	start_service || rc=$?
	[ "$rc" = 0 ] || rec "(start_service returned $rc)"
	service_triggers
	rec "procd_close_service"
}
stop() {
	stop_service
	procd_kill dns-tls-proxy
}
restart() {
	stop
	start
}
rc() { # ACTION: as `/etc/init.d/dns-tls-proxy ACTION`
	action="$1"
	rec ""
	rec "### /etc/init.d/dns-tls-proxy $action"
	case "$action" in
		start | boot) start ;;
		stop | shutdown) stop ;;
		restart) restart ;;
		reload)
			if type reload_service >/dev/null 2>&1; then reload_service; else start; fi
			;;
		reset) reset ;;
		check)
			local out rc=0
			out=$(check 2>&1) || rc=$?
			printf '%s\n' "$out" | grep -E '^# (/|dnsmasq|configuration)|^/etc|^dns-tls-proxy' >>"$T"
			rec "(check returned $rc)"
			;;
		*) rec "HARNESS: no action $action" ;;
	esac
}

# The hotplug script as hotplug-call runs it (sourced, in a subshell, with
# ACTION and INTERFACE), its absolute paths pointed at a fake root whose
# /lib/functions.sh is this harness (already loaded) and whose library
# sources the real one, then puts the recording stand-ins back.
hotplug() { # ACTION INTERFACE
	local root="$T.root"
	if [ ! -d "$root" ]; then
		mkdir -p "$root/lib/functions"
		: >"$root/lib/functions.sh"
		printf '. "%s"\nharness_overrides\n' "$ROOT/openwrt/files/dns-tls-proxy.sh" \
			>"$root/lib/functions/dns-tls-proxy.sh"
		sed "s|\. /lib/|. $root/lib/|" "$ROOT/openwrt/files/dns-tls-proxy.hotplug" >"$root/hotplug"
	fi
	rec ""
	rec "### hotplug iface: ACTION=$1 INTERFACE=$2"
	(
		# shellcheck disable=SC2034 # read by the hotplug script
		ACTION="$1" INTERFACE="$2"
		# shellcheck source=/dev/null
		. "$root/hotplug"
	)
}

# --- the scripts under test --------------------------------------------------
# As rc.common does: IPKG_INSTROOT is empty on a router, the image root while
# an image is built; here a fake root whose library is the real one.
load_init() {
	IPKG_INSTROOT="$T.instroot"
	mkdir -p "$IPKG_INSTROOT/lib/functions"
	ln -sf "$ROOT/openwrt/files/dns-tls-proxy.sh" "$IPKG_INSTROOT/lib/functions/dns-tls-proxy.sh"
	# shellcheck source=/dev/null
	. "$ROOT/openwrt/files/dns-tls-proxy.init"
	IPKG_INSTROOT=''
	harness_overrides
}
