#define AC_COMMIT "c174200a95a3-dirty"
