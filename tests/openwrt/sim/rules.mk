# SPDX-License-Identifier: MIT
# A stand-in for OpenWrt's rules.mk, just enough to run openwrt/Makefile's
# recipes on this machine (tests/openwrt/build-sim.sh). Values are what an
# OpenWrt build would have, with musl-gcc as the "cross" compiler when there.
SIM_OUT ?= $(TOPDIR)/out
INCLUDE_DIR := $(TOPDIR)/include
DL_DIR ?= $(SIM_OUT)/dl
BUILD_DIR := $(SIM_OUT)/build_dir
STAGING_DIR := $(SIM_OUT)/staging_dir
TARGET_CC ?= $(if $(shell command -v musl-gcc),musl-gcc,gcc)
TARGET_AR ?= gcc-ar
TARGET_CFLAGS ?= -Os -pipe -fno-caller-saves -fno-plt -fstack-protector -fPIC
TARGET_CPPFLAGS ?= -I$(STAGING_DIR)/usr/include -D_FORTIFY_SOURCE=1
TARGET_LDFLAGS ?= -L$(STAGING_DIR)/usr/lib -fPIC -pie -znow -zrelro
HOSTCC ?= gcc
FPIC := -fPIC
TAR := tar
CP := cp -fpR
INSTALL_DIR := install -d -m0755
INSTALL_BIN := install -m0755
INSTALL_DATA := install -m0644
INSTALL_CONF := install -m0600
PKG_JOBS ?= -j2
SOURCE_DATE_EPOCH ?= 1700000000
