# embed.cmake - writes the bytes of a file as a C array, so a program can
# carry data without reading a file at run time (and without xxd).
#
#   cmake -DIN=data.bin -DOUT=data.c -DNAME=symbol -P embed.cmake
#
# OUT defines `const unsigned char NAME[]` and `const size_t NAME_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
if(n EQUAL 0)
  message(FATAL_ERROR "embed.cmake: ${IN} is empty")
endif()
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 line) # CMake's regular expressions have no {16}
string(REGEX REPLACE "(${line})" "\\1\n  " bytes "${bytes}")
string(STRIP "${bytes}" bytes)
file(WRITE "${OUT}" "/* Made by cmake/embed.cmake from ${IN}: do not edit. */
#include <stddef.h>

const unsigned char ${NAME}[] = {
  ${bytes}
};
const size_t ${NAME}_len = ${n};
")
