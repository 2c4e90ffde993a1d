# frozen_string_literal: true

# A typed Ruby client for scopeguard's ScopeGuardService over gRPC.
#
# The messages are the generated ones in ../gen (protoc's Ruby output and
# grpc_ruby_plugin's stubs, google.rpc's status and details included). Put
# lib/ and gen/ on the load path, ahead of the gems (the
# googleapis-common-protos-types gem that grpc depends on has older google.rpc
# copies):
#
#   ruby -I clients/ruby/lib -I clients/ruby/gen ...
#
# Each call returns the response message or raises ScopeGuard::Error, which
# decodes the google.rpc details scopeguard attaches to every error
# (ErrorInfo, BadRequest, RetryInfo, ...). Branch on error.reason (a name of
# the ErrorReason enum in proto/scopeguard/v1/error_reason.proto), never on
# the message.

require "google/protobuf/well_known_types"
require "grpc"
require "google/rpc/error_details_pb"
require "google/rpc/status_pb"
require "scopeguard/v1/service_services_pb"

module ScopeGuard
  # One broken request rule, from google.rpc.BadRequest: the field path
  # ("endpoints[0].method"), what is wrong, and the rule id
  # ("repeated.min_items").
  FieldViolation = Struct.new(:field, :description, :reason, keyword_init: true)

  # A failed scopeguard call: the gRPC status and what its details say.
  class Error < StandardError
    # The gRPC status code number (GRPC::Core::StatusCodes), e.g. 3.
    attr_reader :code
    # The status code name, e.g. "INVALID_ARGUMENT".
    attr_reader :code_name
    # google.rpc.ErrorInfo.reason, e.g. "INVALID_REQUEST"; "" without ErrorInfo.
    attr_reader :reason
    # google.rpc.ErrorInfo.domain: "scopeguard" for the server's errors; "" without ErrorInfo.
    attr_reader :domain
    # google.rpc.ErrorInfo.metadata, e.g. {"request_id" => "...", "violations" => "1"}.
    attr_reader :metadata
    # google.rpc.BadRequest field violations (FieldViolation), in the server's order.
    attr_reader :field_violations
    # google.rpc.RetryInfo.retry_delay in seconds (Float); nil without RetryInfo.
    attr_reader :retry_delay
    # Every decoded google.rpc detail (ErrorInfo, BadRequest, RetryInfo, QuotaFailure, ...).
    attr_reader :details

    CODE_NAMES = GRPC::Core::StatusCodes.constants.to_h do |name|
      [GRPC::Core::StatusCodes.const_get(name), name.to_s]
    end.freeze
    private_constant :CODE_NAMES

    def initialize(code, message, details = [])
      @code = code
      @code_name = CODE_NAMES.fetch(code, "UNKNOWN")
      @details = details.freeze
      info = details.find { |d| d.is_a?(Google::Rpc::ErrorInfo) }
      @reason = info ? info.reason : ""
      @domain = info ? info.domain : ""
      @metadata = info ? info.metadata.to_h.freeze : {}.freeze
      @field_violations = details.grep(Google::Rpc::BadRequest).flat_map do |bad_request|
        bad_request.field_violations.map do |v|
          FieldViolation.new(field: v.field, description: v.description, reason: v.reason)
        end
      end.freeze
      delay = details.grep(Google::Rpc::RetryInfo).first&.retry_delay
      @retry_delay = delay && (delay.seconds + (delay.nanos / 1e9))
      super("#{@code_name}: #{message}")
    end

    # The id the server logged the call under ("" if it sent none).
    def request_id
      metadata.fetch("request_id", "")
    end

    # Decodes a failed call's status and the details in its trailers.
    def self.from_bad_status(error)
      status = error.to_rpc_status
      return new(error.code, error.details) if status.nil?

      details = status.details.filter_map do |packed|
        klass = Google::Protobuf::DescriptorPool.generated_pool.lookup(packed.type_name)&.msgclass
        klass && packed.unpack(klass)
      end
      new(error.code, status.message, details)
    end
  end

  # Calls the four RPCs of a scopeguard server. Each method takes the request
  # message (or its fields as keywords, nested messages as hashes) and returns
  # the response message, or raises ScopeGuard::Error.
  class Client
    # address is "host:port"; plaintext unless credentials
    # (GRPC::Core::ChannelCredentials) are given. timeout is each call's
    # deadline in seconds; nil means none.
    def initialize(address, credentials: :this_channel_is_insecure, timeout: nil)
      @channel = GRPC::Core::Channel.new(address, {}, credentials)
      @stub = Scopeguard::V1::ScopeGuardService::Stub.new(address, credentials, channel_override: @channel, timeout: timeout)
    end

    # CheckScopes: may these scopes (or this token) call these endpoints?
    def check_scopes(request = nil, **fields)
      call(:check_scopes, Scopeguard::V1::CheckScopesRequest, request, fields)
    end

    # ExplainError: the root cause of a HubSpot error response, and the fix.
    def explain_error(request = nil, **fields)
      call(:explain_error, Scopeguard::V1::ExplainErrorRequest, request, fields)
    end

    # RefreshToken: a fresh access token, one upstream refresh however many callers ask.
    def refresh_token(request = nil, **fields)
      call(:refresh_token, Scopeguard::V1::RefreshTokenRequest, request, fields)
    end

    # PlanScopes: the least-privileged scopes covering these endpoints, and the install URL.
    def plan_scopes(request = nil, **fields)
      call(:plan_scopes, Scopeguard::V1::PlanScopesRequest, request, fields)
    end

    # Closes the channel, cancelling calls in flight.
    def close
      @channel.close
    end

    private

    def call(method, request_class, request, fields)
      raise ArgumentError, "give a request message or its fields, not both" if request && !fields.empty?

      @stub.public_send(method, request || request_class.new(**fields))
    rescue GRPC::BadStatus => e
      raise Error.from_bad_status(e)
    end
  end
end
