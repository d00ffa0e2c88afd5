# Static (musl) and cross builds, footprint budget: see the targets below.
