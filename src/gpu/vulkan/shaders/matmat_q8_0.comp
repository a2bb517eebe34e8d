#version 450
// Q8_0 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 800
#define ACT 32
#include "matmat.glsl"
