#version 450
// Q4_0 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 400
#define ACT 32
#include "matmat.glsl"
