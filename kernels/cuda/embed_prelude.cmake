# Turns kernels/cuda/lanes_device.cuh into a C string constant (lanes__cuda_prelude) that
# cuda_codegen.c puts in front of every generated source, so nvcc's kernels and NVRTC's kernels share
# one text. Run by add_custom_command: cmake -DIN=<cuh> -DOUT=<inc> -P embed_prelude.cmake
file(READ "${IN}" _text)
string(REPLACE "\\" "\\\\" _text "${_text}")
string(REPLACE "\"" "\\\"" _text "${_text}")
string(REPLACE "\n" "\\n\"\n\"" _text "${_text}")
file(WRITE "${OUT}.tmp"
  "/* Generated from kernels/cuda/lanes_device.cuh by embed_prelude.cmake: do not edit. */\n"
  "static const char lanes__cuda_prelude[] =\n\"${_text}\";\n")
file(RENAME "${OUT}.tmp" "${OUT}")
