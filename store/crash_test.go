package store_test

const helperEnv = "CONTACTMERGE_STORE_CRASH_HELPER"
