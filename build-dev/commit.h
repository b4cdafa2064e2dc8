#define AC_COMMIT "76069b167a0f-dirty"
