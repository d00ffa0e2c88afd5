/* SPDX-License-Identifier: MIT */
/* Named presets for the public DNS-over-TLS resolvers in docs/resolvers.md:
 * `-n quad9` stands for that provider's IPv4 addresses, `-n quad9-v6` for
 * its IPv6 ones, each on port 853 with the name its certificate carries. */
#ifndef PRESET_H
#define PRESET_H

#include <stddef.h>

/* Room for one expanded item, "[IPV6]:853:NAME". */
#define PRESET_ITEM_MAX 320

/* If name is a preset, call add(arg, "IP:853:NAME") for each of its
 * addresses and return what the last call returned (0, or the first -1).
 * Returns 1 when name is not a preset. */
int preset_expand(const char *name, int (*add)(void *arg, const char *item), void *arg);

/* The preset that holds address (as the table writes it) into name, and
 * its certificate name into auth: 0, or -1 when no preset does. */
int preset_for_address(const char *address, char *name, size_t namelen, char *auth,
    size_t authlen);

/* The i-th preset's name (IPv4; the IPv6 one is NAME-v6), NULL past the
 * end. */
const char *preset_name(size_t i, char *buf, size_t buflen);

#endif
