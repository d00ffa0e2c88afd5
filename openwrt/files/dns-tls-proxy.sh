#!/bin/sh
# SPDX-License-Identifier: MIT
# /lib/functions/dns-tls-proxy.sh: shared by /etc/init.d/dns-tls-proxy and
# /etc/hotplug.d/iface/90-dns-tls-proxy. Definitions only, nothing runs when
# sourced. Needs /lib/functions.sh (config_load, config_get, ...) loaded first.
#
#   dtp_build_args      /etc/config/dns-tls-proxy (already config_load-ed) ->
#                       DTP_ARGS, the proxy's arguments as a shell-quoted string
#                       (use: eval "set -- $DTP_ARGS")
#   dtp_check ARGS...   run the proxy's own --check on ARGS, log its complaint
#   dtp_dnsmasq_apply   point dnsmasq at the proxy (backup of its settings first)
#   dtp_dnsmasq_restore put dnsmasq's own settings back
#   dtp_signum NAME     a signal's number, for procd_send_signal
#   dtp_hotplug ACTION INTERFACE   the iface hotplug handler
#
# busybox ash: POSIX sh plus `local`.
# shellcheck shell=sh disable=SC3043

DTP_NAME=dns-tls-proxy
DTP_PROG=/usr/sbin/dns-tls-proxy
DTP_DEFAULT_PORT=15353
# The dnsmasq instance we manage, and the options we keep our backup of its
# settings in (in /etc/config/dhcp itself, so the backup survives a reboot or
# power cut exactly as long as the change it undoes).
DTP_DHCP='dhcp.@dnsmasq[0]'
DTP_BACKUP=dns_tls_proxy_backup

dtp_log() { # LEVEL MESSAGE   (LEVEL: err, warning, notice, info)
	logger -t "$DTP_NAME" -p "daemon.$1" "$2"
}

dtp_dnsmasq_restart() {
	/etc/init.d/dnsmasq restart >/dev/null 2>&1
}

# main.chroot must exist (on OpenWrt /var is a tmpfs: /var/empty is not
# there after a boot). An empty directory is all the proxy needs in it.
dtp_make_chroot() { # DIR
	[ -d "$1" ] || { mkdir -p "$1" && chmod 0755 "$1"; }
}

dtp_initd() {
	"/etc/init.d/$DTP_NAME" "$@"
}

# Append each argument to DTP_ARGS as one single-quoted shell word.
dtp_arg() {
	local a
	for a in "$@"; do
		case "$a" in
			*\'*) a=$(printf '%s' "$a" | sed "s/'/'\\\\''/g") ;;
		esac
		DTP_ARGS="${DTP_ARGS:+$DTP_ARGS }'$a'"
	done
}

# Call FUNCTION VALUE ARGS... for each value of SECTION.OPTION, whether it is
# written as a `list` (one value per line) or as one `option` (values
# separated by spaces).
dtp_foreach() { # SECTION OPTION FUNCTION [ARGS...]
	local section="$1" option="$2" fn="$3" len value v
	config_get len "$section" "${option}_LENGTH"
	if [ -n "$len" ]; then
		config_list_foreach "$@"
		return
	fi
	shift 3
	config_get value "$section" "$option"
	for v in $value; do
		"$fn" "$v" "$@"
	done
}

# main.OPTION -> FLAG VALUE, when the option is set.
dtp_opt() { # OPTION FLAG
	local v
	config_get v main "$1"
	[ -n "$v" ] && dtp_arg "$2" "$v"
	return 0
}

dtp_add_listen() {
	dtp_arg -a "$1"
	DTP_LISTEN="${DTP_LISTEN:+$DTP_LISTEN }$1"
}

dtp_add_allow() {
	dtp_arg --allow "$1"
	DTP_ALLOW="${DTP_ALLOW:+$DTP_ALLOW }$1"
}

dtp_add_allow_transfer() {
	dtp_arg --allow-transfer "$1"
}

dtp_add_pin() { # PIN NAME
	local pin="$1" name="$2"
	case "$pin" in
		sha256/*) ;;
		*) pin="sha256/$pin" ;;
	esac
	# two resolvers with one name may list the same pin: pass it once
	case " $DTP_PINS " in
		*" $name=$pin "*) return 0 ;;
	esac
	DTP_PINS="${DTP_PINS:+$DTP_PINS }$name=$pin"
	dtp_arg --pin "$name=$pin"
}

# One `config resolver` section -> -n ADDRESS:PORT:NAME [--pin NAME=...],
# or -n PRESET (e.g. quad9, quad9-v6: the proxy's --help lists them).
dtp_add_resolver() {
	local cfg="$1" enabled address port name preset pins
	config_get_bool enabled "$cfg" enabled 1
	[ "$enabled" = 1 ] || return 0
	config_get preset "$cfg" preset
	config_get address "$cfg" address
	config_get port "$cfg" port 853
	config_get name "$cfg" auth_name
	if [ -n "$preset" ]; then
		# Pins name the certificate name, which a preset implies: ask for it
		# rather than run unpinned.
		config_get pins "$cfg" pin
		if [ -n "$pins" ] && [ -z "$name" ]; then
			dtp_log warning "resolver '$cfg' (preset $preset): pins need auth_name (the name its certificate carries), skipped"
			return 0
		fi
		dtp_arg -n "$preset"
		DTP_RESOLVERS=$((DTP_RESOLVERS + 1))
		[ -n "$name" ] && dtp_foreach "$cfg" pin dtp_add_pin "$name"
		return 0
	fi
	if [ -z "$address" ]; then
		dtp_log warning "resolver '$cfg': no address, skipped"
		return 0
	fi
	if [ -z "$name" ]; then
		dtp_log warning "resolver '$cfg' ($address): no auth_name (the name its certificate must carry), skipped"
		return 0
	fi
	case "$address" in
		\[*\]) ;;
		*:*) address="[$address]" ;;
	esac
	dtp_arg -n "$address:$port:$name"
	DTP_RESOLVERS=$((DTP_RESOLVERS + 1))
	dtp_foreach "$cfg" pin dtp_add_pin "$name"
}

# The address dnsmasq should send to: loopback if the proxy listens there (or
# on a wildcard), else the first listen address.
dtp_server_addr() {
	local a
	for a in ${DTP_LISTEN:-127.0.0.1}; do
		case "$a" in
			127.0.0.1 | 0.0.0.0) echo 127.0.0.1; return ;;
		esac
	done
	for a in $DTP_LISTEN; do
		case "$a" in
			::1 | ::) echo ::1; return ;;
			127.*) echo "$a"; return ;;
		esac
	done
	# shellcheck disable=SC2086 # addresses hold no spaces
	set -- $DTP_LISTEN
	echo "$1"
}

# Build the proxy's command line from the loaded config. Sets:
#   DTP_ARGS            the arguments (shell-quoted words)
#   DTP_PORT            the port the proxy listens on
#   DTP_DNSMASQ_SERVER  ADDR#PORT for dnsmasq, empty when integration is off
#   DTP_ERROR           why, when it returns 1
# (DTP_ERROR and DTP_DNSMASQ_SERVER are read by the init script.)
# shellcheck disable=SC2034
dtp_build_args() {
	local proto log_level stats dnsmasq addr a retry log_queries
	DTP_ARGS='' DTP_PINS='' DTP_LISTEN='' DTP_ALLOW='' DTP_ERROR='' DTP_DNSMASQ_SERVER=''
	DTP_RESOLVERS=0

	config_foreach dtp_add_resolver resolver
	if [ "$DTP_RESOLVERS" -eq 0 ]; then
		DTP_ERROR="no usable 'config resolver' section (each needs address and auth_name, or preset)"
		return 1
	fi

	dtp_foreach main listen_addr dtp_add_listen
	dtp_opt port -p
	config_get DTP_PORT main port "$DTP_DEFAULT_PORT"

	config_get proto main proto both
	case "$proto" in
		both) ;;
		udp) dtp_arg -u ;;
		tcp) dtp_arg -t ;;
		*) DTP_ERROR="proto: '$proto' is not udp, tcp or both"; return 1 ;;
	esac

	dtp_foreach main allow dtp_add_allow
	config_get_bool dnsmasq main dnsmasq_config_update 0
	if [ "$dnsmasq" = 1 ]; then
		addr=$(dtp_server_addr)
		DTP_DNSMASQ_SERVER="$addr#$DTP_PORT"
		# A custom allow list must still let dnsmasq in over loopback.
		if [ -n "$DTP_ALLOW" ]; then
			case "$addr" in
				127.*)
					a="$addr/32"
					case " $DTP_ALLOW " in
						*" $addr "* | *" $a "* | *" 127.0.0.0/8 "*) a='' ;;
					esac
					;;
				::1)
					a=::1/128
					case " $DTP_ALLOW " in
						*" ::1 "* | *" ::1/128 "*) a='' ;;
					esac
					;;
				*) a='' ;;
			esac
			[ -n "$a" ] && dtp_add_allow "$a"
		fi
	fi

	dtp_foreach main allow_transfer dtp_add_allow_transfer

	dtp_opt pool_size --pool-size
	dtp_opt timeout --timeout
	dtp_opt connect_timeout --connect-timeout
	dtp_opt idle_timeout --idle-timeout
	dtp_opt tcp_idle_timeout --tcp-idle-timeout
	dtp_opt transfer_timeout --transfer-timeout
	dtp_opt max_inflight --max-inflight
	dtp_opt max_tcp_clients --max-tcp-clients
	# Behind dnsmasq every query comes from its one address: unless set, the
	# per-client shares are the whole tables (the proxy caps them there).
	config_get a main max_tcp_per_client
	[ -z "$a" ] && [ "$dnsmasq" = 1 ] && a=4096
	[ -n "$a" ] && dtp_arg --max-tcp-per-client "$a"
	config_get a main max_inflight_per_client
	[ -z "$a" ] && [ "$dnsmasq" = 1 ] && a=65536
	[ -n "$a" ] && dtp_arg --max-inflight-per-client "$a"
	dtp_opt max_udp_size --max-udp-size
	dtp_opt batch_window --batch-window
	dtp_opt strategy --strategy
	# unset: the proxy decides (on with two providers or more)
	config_get retry main retry_servfail
	case "$retry" in
		'') ;;
		1 | yes | on | true) dtp_arg --retry-servfail ;;
		0 | no | off | false) dtp_arg --retry-servfail=no ;;
		*) DTP_ERROR="retry_servfail: '$retry' is not 0 or 1"; return 1 ;;
	esac
	dtp_opt metrics --metrics
	config_get_bool log_queries main log_queries 0
	[ "$log_queries" = 1 ] && dtp_arg --log-queries
	dtp_opt cache_size --cache-size
	dtp_opt cache_min_ttl --cache-min-ttl
	dtp_opt cache_max_ttl --cache-max-ttl
	dtp_opt stale_answer_timeout --stale-answer-timeout
	dtp_opt stale_max --stale-max

	config_get_bool stats main stats 0
	[ "$stats" = 1 ] && dtp_arg -s
	dtp_opt stats_interval --stats-interval

	config_get log_level main log_level warn
	case "$log_level" in
		err | error | warn | warning | notice) ;;
		info) dtp_arg -v ;;
		debug) dtp_arg -d ;;
		*) DTP_ERROR="log_level: '$log_level' is not error, warn, info or debug"; return 1 ;;
	esac
	dtp_opt logfile -l
	dtp_opt ca_file --ca-file
	dtp_opt time_file --time-file
	dtp_opt user --user
	dtp_opt chroot --chroot
	return 0
}

# The proxy's own check of a command line (nothing is bound): its one-line
# complaint goes to the log. A clean environment, as procd gives the daemon.
dtp_check() {
	local err
	if ! err=$(env -i "$DTP_PROG" "$@" --check 2>&1 >/dev/null); then
		dtp_log err "configuration rejected: ${err:-$DTP_PROG --check failed}"
		return 1
	fi
	return 0
}

dtp_dhcp_get() { # OPTION
	uci -q get "$DTP_DHCP.$1"
}

# Point dnsmasq at SERVER (ADDR#PORT): noresolv, and SERVER as its only
# upstream (domain-specific entries, /domain/addr, are kept). The first time,
# dnsmasq's own server list and noresolv are copied into backup options of
# the same section. Commits and restarts dnsmasq only when something changed.
dtp_dnsmasq_apply() { # SERVER
	local ours="$1" cur noresolv s want='' changed=0
	if [ -z "$(uci -q get "$DTP_DHCP")" ]; then
		dtp_log warning "no dnsmasq section in /etc/config/dhcp: dnsmasq integration skipped"
		return 1
	fi
	cur=$(dtp_dhcp_get server)
	noresolv=$(dtp_dhcp_get noresolv)
	if [ -z "$(dtp_dhcp_get "$DTP_BACKUP")" ]; then
		uci -q set "$DTP_DHCP.$DTP_BACKUP=1"
		[ -n "$noresolv" ] && uci -q set "$DTP_DHCP.${DTP_BACKUP}_noresolv=$noresolv"
		for s in $cur; do
			uci -q add_list "$DTP_DHCP.${DTP_BACKUP}_server=$s"
		done
		changed=1
	fi
	for s in $cur; do
		case "$s" in
			/*) want="$want $s" ;;
		esac
	done
	want="${want# }${want:+ }$ours"
	# shellcheck disable=SC2086 # word splitting normalises the list
	set -- $cur
	if [ "$*" != "$want" ]; then
		uci -q delete "$DTP_DHCP.server"
		for s in $want; do
			uci -q add_list "$DTP_DHCP.server=$s"
		done
		changed=1
	fi
	if [ "$noresolv" != 1 ]; then
		uci -q set "$DTP_DHCP.noresolv=1"
		changed=1
	fi
	[ "$changed" = 1 ] || return 0
	uci commit dhcp
	dtp_log notice "dnsmasq now forwards to $ours (no-resolv)"
	dtp_dnsmasq_restart
}

# Undo dtp_dnsmasq_apply, if it was applied.
dtp_dnsmasq_restore() {
	local servers noresolv s
	[ -n "$(dtp_dhcp_get "$DTP_BACKUP")" ] || return 0
	servers=$(dtp_dhcp_get "${DTP_BACKUP}_server")
	noresolv=$(dtp_dhcp_get "${DTP_BACKUP}_noresolv")
	uci -q delete "$DTP_DHCP.server"
	for s in $servers; do
		uci -q add_list "$DTP_DHCP.server=$s"
	done
	if [ -n "$noresolv" ]; then
		uci -q set "$DTP_DHCP.noresolv=$noresolv"
	else
		uci -q delete "$DTP_DHCP.noresolv"
	fi
	uci -q delete "$DTP_DHCP.$DTP_BACKUP"
	uci -q delete "$DTP_DHCP.${DTP_BACKUP}_server"
	uci -q delete "$DTP_DHCP.${DTP_BACKUP}_noresolv"
	uci commit dhcp
	dtp_log notice "dnsmasq settings restored"
	dtp_dnsmasq_restart
}

# A signal's number on this system for procd_send_signal, whose older
# versions take numbers only (USR2 is 12 on ARM and x86, 17 on MIPS):
# busybox's `kill -l NAME` gives it; elsewhere the name itself.
dtp_signum() { # NAME
	local n
	n=$(kill -l "$1" 2>/dev/null)
	case "$n" in
		'' | *[!0-9]*) echo "$1" ;;
		*) echo "$n" ;;
	esac
}

# iface hotplug: on ifup of a WAN interface (main.wan_interface, default
# 'wan'), have a running, enabled proxy drop its pooled upstream connections
# and forget its back-off (SIGUSR2, through `/etc/init.d/dns-tls-proxy
# reset`): connections made over the old link are replaced at once and
# nameservers that failed while the link was down are tried again, with no
# restart, so dnsmasq never sees the proxy go away and no query in flight is
# lost. main.reset_on_wan_up turns it off (main.restart_on_wan_up, its name
# before, is still read).
dtp_hotplug() { # ACTION INTERFACE
	local action="$1" iface="$2" reset wan
	[ "$action" = ifup ] || return 0
	config_load "$DTP_NAME"
	config_get_bool reset main restart_on_wan_up 1
	config_get_bool reset main reset_on_wan_up "$reset"
	[ "$reset" = 1 ] || return 0
	config_get wan main wan_interface wan
	case " $wan " in
		*" $iface "*) ;;
		*) return 0 ;;
	esac
	dtp_initd enabled || return 0
	dtp_initd running || return 0
	dtp_log info "$iface is up: resetting the upstream connections"
	dtp_initd reset
}
