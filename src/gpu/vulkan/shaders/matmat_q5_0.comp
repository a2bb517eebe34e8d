#version 450
// Q5_0 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 50
#define ACT 32
#include "matmat.glsl"
