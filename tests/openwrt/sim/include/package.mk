# SPDX-License-Identifier: MIT
# A stand-in for OpenWrt's include/package.mk (see ../rules.mk): the same
# macros (Download, BuildPackage), run as plain targets:
#   download  check the extra sources are in DL_DIR and their HASH fields
#   prepare   Build/Prepare only (tests/openwrt/package-check.sh)
#   compile   Build/Prepare, then Build/Compile
#   install   Package/<name>/install into $(SIM_OUT)/ipkg
#   metadata  print the package fields
PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
SIM_IPKG := $(SIM_OUT)/ipkg

define Download/Defaults
  URL:=
  FILE:=
  URL_FILE:=
  HASH:=
endef

SIM_DOWNLOADS :=
define Download
  $(eval $(Download/Defaults))
  $(eval $(Download/$(1)))
  SIM_DOWNLOADS += $(FILE)
  SIM_HASH_$(FILE) := $(HASH)
  SIM_URL_$(FILE) := $(URL)$(or $(URL_FILE),$(FILE))
endef

define BuildPackage
  $(eval $(Package/$(1)))
  SIM_PKG := $(1)

  download:
	@for f in $$(SIM_DOWNLOADS); do \
	    test -f "$(DL_DIR)/$$$$f" || { echo "sim: $(DL_DIR)/$$$$f missing"; exit 1; }; \
	done
	@$$(foreach f,$$(SIM_DOWNLOADS),echo "sim: $$(f) from $$(SIM_URL_$$(f)) hash $$(SIM_HASH_$$(f))" && \
	    echo "$$(SIM_HASH_$$(f))" | grep -Eq '^[0-9a-f]{64}$$$$' &&) true

  prepare: download
	rm -rf $(PKG_BUILD_DIR)
	$$(Build/Prepare)

  compile: download
	rm -rf $(PKG_BUILD_DIR)
	$$(Build/Prepare)
	$$(Build/Compile)

  install:
	rm -rf $(SIM_IPKG) && mkdir -p $(SIM_IPKG)
	$$(call Package/$(1)/install,$(SIM_IPKG))

  metadata:
	@echo "SECTION=$(SECTION)"
	@echo "CATEGORY=$(CATEGORY)"
	@echo "TITLE=$(TITLE)"
	@echo "DEPENDS=$(DEPENDS)"
	@echo "PKG_VERSION=$(PKG_VERSION)"
	@echo "PKG_LICENSE=$(PKG_LICENSE)"
	@echo "PKG_LICENSE_FILES=$(PKG_LICENSE_FILES)"
	@echo "PKG_BUILD_DIR=$(PKG_BUILD_DIR)"
	@echo "conffiles=$$(strip $$(Package/$(1)/conffiles))"
	@echo "description=$$(strip $$(subst $$(newline), ,$$(Package/$(1)/description)))"
endef

define newline


endef
