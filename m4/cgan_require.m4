# CGAN_REQUIRE_PKG(VARIABLE, MODULE, DEBIAN-PACKAGE)
# Find MODULE with pkg-config; when it is missing, stop with one line naming it and
# the Debian package that provides it.
AC_DEFUN([CGAN_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([missing dependency '$2' (pkg-config); on Debian/Ubuntu: apt-get install $3  (or run tools/install-deps)])])
])

# CGAN_OPTIONAL_PKG(VARIABLE, MODULE, DEFINE)
AC_DEFUN([CGAN_OPTIONAL_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [have_$1=yes
     AC_DEFINE([$3], [1], [Define when $2 is available])], [have_$1=no])
  AM_CONDITIONAL([HAVE_$1], [test "x$have_$1" = xyes])
])
