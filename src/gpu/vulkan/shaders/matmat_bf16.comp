#version 450
// BF16 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 1601
#define ACT 0
#include "matmat.glsl"
