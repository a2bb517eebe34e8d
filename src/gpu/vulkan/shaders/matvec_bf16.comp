#version 450
#extension GL_GOOGLE_include_directive : require
#define BF16 1
#include "matvec_f16_bf16.glsl"
