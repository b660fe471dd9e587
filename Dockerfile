# Multi-stage build: the SDK image builds, a small runtime image runs as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY gateway/gateway.csproj gateway/
RUN dotnet restore gateway/gateway.csproj
COPY gateway/ gateway/
RUN dotnet publish gateway/gateway.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's non-root user (uid 1654); data goes to a writable volume.
USER app
ENV AUDITGW_DATA=/var/lib/auditgw \
    AUDITGW_HTTP=0.0.0.0:8080 \
    AUDITGW_HTTPS=0.0.0.0:8443
VOLUME ["/var/lib/auditgw"]
EXPOSE 8080 8443 9090
ENTRYPOINT ["dotnet", "/app/auditgw.dll"]
CMD ["run"]
