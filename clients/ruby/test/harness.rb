# frozen_string_literal: true

# Starts the built binaries for the end-to-end suite: bin/fakehubspot (the
# fake HubSpot, seeded with a demo account) and bin/scopeguard serve pointed
# at it. Both listen on free ports; addresses are read from their output, as
# clients/node/test/harness.js does.

require "fileutils"
require "json"
require "socket"
require "tmpdir"

module Harness
  REPO_ROOT = File.expand_path("../../..", __dir__)
  # The name the apps file gives the fake's demo app.
  APP_NAME = "shop"
  # How long a binary may take to get ready: it bounds a hang, it asserts
  # nothing about speed.
  READY_TIMEOUT = 60

  # Reads a process's output to its end (so the process never blocks on a
  # full pipe), keeps it for failure messages, and finds lines in it.
  class Output
    def initialize(pid, io)
      @pid = pid
      @lines = []
      @closed = false
      @lock = Mutex.new
      @changed = ConditionVariable.new
      @thread = Thread.new do
        io.each_line { |line| @lock.synchronize { @lines << line.chomp; @changed.broadcast } }
        io.close
        @lock.synchronize { @closed = true; @changed.broadcast }
      end
    end

    def text
      @lock.synchronize { @lines.join("\n") }
    end

    # The first line for which the block is true; raises if the stream ends
    # (or READY_TIMEOUT passes) first.
    def line(&matches)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + READY_TIMEOUT
      @lock.synchronize do
        loop do
          found = @lines.find(&matches)
          return found if found

          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          raise "process #{@pid} #{@closed ? 'exited' : 'timed out'} before it was ready:\n#{@lines.join("\n")}" if @closed || left <= 0

          @changed.wait(@lock, left)
        end
      end
    end

    def join
      @thread.join
    end
  end

  # Sends SIGTERM (unless the process already exited) and returns its exit
  # status.
  def self.stop(pid)
    begin
      Process.kill("TERM", pid)
    rescue Errno::ESRCH
      # Already gone; wait reaps it.
    end
    Process.wait2(pid).last.exitstatus
  end

  def self.log_record(line)
    record = JSON.parse(line)
    record.is_a?(Hash) ? record : nil
  rescue JSON::ParserError
    nil
  end

  # bin/fakehubspot; seed is its seed line (URL and demo credentials).
  class FakeHubSpot
    attr_reader :seed

    def initialize
      out_r, out_w = IO.pipe
      err_r, err_w = IO.pipe
      @pid = Process.spawn(File.join(REPO_ROOT, "bin/fakehubspot"), out: out_w, err: err_w, in: File::NULL)
      out_w.close
      err_w.close
      @stdout = Output.new(@pid, out_r)
      @stderr = Output.new(@pid, err_r)
      begin
        @seed = JSON.parse(@stdout.line { true })
      rescue StandardError
        stop
        raise
      end
    end

    def stop
      code = Harness.stop(@pid)
      @stdout.join
      @stderr.join
      code
    end
  end

  # bin/scopeguard serve on free gRPC and HTTP ports, with an apps file naming
  # the seed's demo app (its secret in the environment, as the apps file
  # recommends). address is the gRPC address, http_url the HTTP port's.
  class ScopeGuard
    attr_reader :address, :http_url

    def initialize(hubspot_url, seed)
      @dir = Dir.mktmpdir("scopeguard-ruby-test-")
      apps_file = File.join(@dir, "apps.yaml")
      # JSON is YAML.
      File.write(apps_file, JSON.generate(
        apps: { APP_NAME => { client_id: seed.fetch("client_id"), client_secret_env: "SCOPEGUARD_TEST_CLIENT_SECRET" } },
      ))
      err_r, err_w = IO.pipe
      @pid = Process.spawn(
        { "SCOPEGUARD_TEST_CLIENT_SECRET" => seed.fetch("client_secret") },
        File.join(REPO_ROOT, "bin/scopeguard"), "serve",
        "--listen", "127.0.0.1:0",
        "--http-listen", "127.0.0.1:0",
        "--log-format", "json",
        "--hubspot-api-url", hubspot_url,
        "--apps-file", apps_file,
        in: File::NULL, out: File::NULL, err: err_w,
      )
      err_w.close
      @log = Output.new(@pid, err_r)
      begin
        # "serving http" comes first, so both addresses are known by then.
        http = Harness.log_record(@log.line { |l| Harness.log_record(l)&.fetch("msg", nil) == "serving http" })
        grpc = Harness.log_record(@log.line { |l| Harness.log_record(l)&.fetch("msg", nil) == "serving" })
      rescue StandardError
        stop
        raise
      end
      @http_url = "http://#{http.fetch('addr')}"
      @address = grpc.fetch("addr")
    end

    # Everything the server logged so far.
    def log
      @log.text
    end

    # Stops the server (SIGTERM) and returns its exit status.
    def stop
      Harness.stop(@pid)
    ensure
      @log.join
      FileUtils.remove_entry(@dir)
    end
  end

  # A loopback URL where nothing listens: a HubSpot that is down.
  def self.unreachable_url
    probe = TCPServer.new("127.0.0.1", 0)
    port = probe.addr[1]
    probe.close
    "http://127.0.0.1:#{port}"
  end
end
