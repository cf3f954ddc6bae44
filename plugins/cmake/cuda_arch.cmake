# Default CMAKE_CUDA_ARCHITECTURES from the nvcc version. Included BEFORE project(): enable_language(CUDA)
# compiles CMake's test program for CMAKE_CUDA_ARCHITECTURES, so a default naming an architecture the nvcc
# lacks aborts the whole configure (the CPU library included).
#   below CUDA 13: "87"      Orin. JetPack 6 ships CUDA 12.2/12.6, which has no sm_110 (Thor was sm_101
#                            before CUDA 13 renamed it to sm_110).
#   CUDA 13 on:    "87;110"  Orin and Thor (JetPack 7).
# An explicit -DCMAKE_CUDA_ARCHITECTURES=... or the CUDAARCHS environment variable always wins. A value this
# file chose before is recomputed, so pointing an existing build tree at another nvcc picks that nvcc's default.
# Plain CMake 3.18+ (JetPack 6 has 3.22): execute_process + regex only.

function(edge_nvcc_path out)
  if(CMAKE_CUDA_COMPILER)
    set(nvcc "${CMAKE_CUDA_COMPILER}")
  elseif(DEFINED ENV{CUDACXX} AND NOT "$ENV{CUDACXX}" STREQUAL "")
    set(nvcc "$ENV{CUDACXX}")
  else()
    find_program(EDGE_NVCC_PROGRAM nvcc PATHS /usr/local/cuda/bin)
    set(nvcc "${EDGE_NVCC_PROGRAM}")
  endif()
  set(${out} "${nvcc}" PARENT_SCOPE)
endfunction()

#! Major version of `nvcc --version` ("Cuda compilation tools, release 12.6, V12.6.68"), "" when unknown.
function(edge_nvcc_major nvcc out)
  set(major "")
  if(nvcc AND EXISTS "${nvcc}")
    execute_process(COMMAND "${nvcc}" --version OUTPUT_VARIABLE text ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND text MATCHES "release ([0-9]+)\\.([0-9]+)")
      set(major "${CMAKE_MATCH_1}")
    endif()
  endif()
  set(${out} "${major}" PARENT_SCOPE)
endfunction()

set(_edge_auto FALSE)
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND (NOT DEFINED ENV{CUDAARCHS} OR "$ENV{CUDAARCHS}" STREQUAL ""))
  set(_edge_auto TRUE)
elseif(DEFINED EDGE_CUDA_ARCH_DEFAULT AND "${CMAKE_CUDA_ARCHITECTURES}" STREQUAL "${EDGE_CUDA_ARCH_DEFAULT}")
  set(_edge_auto TRUE) # our own earlier default: recompute for the current nvcc
endif()
if(_edge_auto)
  edge_nvcc_path(_edge_nvcc)
  edge_nvcc_major("${_edge_nvcc}" _edge_major)
  if(_edge_major AND _edge_major GREATER_EQUAL 13)
    set(_edge_arch "87;110")
  else()
    set(_edge_arch "87")
  endif()
  set(CMAKE_CUDA_ARCHITECTURES "${_edge_arch}" CACHE STRING "CUDA architectures of the kernels" FORCE)
  set(EDGE_CUDA_ARCH_DEFAULT "${_edge_arch}" CACHE INTERNAL "the default CMAKE_CUDA_ARCHITECTURES chosen last")
  message(STATUS "edge plugins: default CUDA architectures ${_edge_arch} for nvcc '${_edge_nvcc}' "
    "(CUDA major '${_edge_major}'; override with -DCMAKE_CUDA_ARCHITECTURES=...)")
else()
  unset(EDGE_CUDA_ARCH_DEFAULT CACHE)
endif()
