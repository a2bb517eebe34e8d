#version 450
// IQ4_NL weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 40
#define ACT 32
#include "matmat.glsl"
