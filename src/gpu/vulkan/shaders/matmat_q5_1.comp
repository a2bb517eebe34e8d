#version 450
// Q5_1 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 51
#define ACT 32
#include "matmat.glsl"
