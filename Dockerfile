# ollama-cpp as a container, like Ollama's image:
#
#     docker build -t ollama-cpp .
#     docker run -d -v ollama:/root/.ollama -p 11434:11434 --name ollama ollama-cpp
#     docker exec -it ollama ollama run MODEL
#
# The runtime stage installs the same .deb that scripts/package.sh makes for hosts, so the
# image gets exactly the .deb's computed dependencies. tests/e2e/test_packaging.py applies
# the runtime stage to a debootstrapped Debian 12 root and serves a model from it: it runs
# RUN lines with `sh -c`, maps COPY --from=build to package.sh's output, and knows FROM,
# COPY, RUN, ENV, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD and LABEL in that stage.

FROM debian:12 AS build
WORKDIR /src
COPY . .
# OLLAMA_DEPS=build: only the packages the build needs (scripts/install-deps.sh).
RUN OLLAMA_DEPS=build scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DOLLAMA_BUILD_TESTS=OFF \
    && scripts/build.sh --target ollama \
    && scripts/package.sh build /out

FROM debian:12-slim
COPY --from=build /out/ollama-cpp_*.deb /tmp/
RUN apt-get update \
    && apt-get install -y --no-install-recommends /tmp/ollama-cpp_*.deb ca-certificates \
    && rm -rf /var/lib/apt/lists/* /tmp/*.deb
ENV OLLAMA_HOST=0.0.0.0:11434
VOLUME /root/.ollama
EXPOSE 11434
# `ollama ps` asks the server and exits 1 when it does not answer (`ollama --version` does not).
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 CMD ["/usr/bin/ollama", "ps"]
ENTRYPOINT ["/usr/bin/ollama"]
CMD ["serve"]
